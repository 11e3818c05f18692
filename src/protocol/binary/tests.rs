//! Round trips, error bounds and robustness of the binary snapshot codec.
