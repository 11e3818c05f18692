//! Vectors and quaternions on the wire: arrays or `{x,y,z[,w]}` objects in, arrays out,
//! finite only.

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;

/// A three-component vector on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Vec3(pub [f32; 3]);

/// A quaternion `[x, y, z, w]` on the wire, normalised when decoded.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Quat(pub [f32; 4]);

impl Quat {
    pub const IDENTITY: Quat = Quat([0.0, 0.0, 0.0, 1.0]);
}

thread_local! {
    /// Set when the decoder refused a non-finite number, so the rejection gets its own
    /// code without inspecting serde's message text.
    pub(super) static NON_FINITE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn finite<E: de::Error>(v: f64, what: &str) -> Result<f32, E> {
    let f = v as f32;
    if v.is_finite() && f.is_finite() {
        Ok(f)
    } else {
        NON_FINITE.set(true);
        Err(E::custom(format_args!(
            "{what} component {v} is not a finite 32-bit number"
        )))
    }
}

struct ComponentsVisitor<const N: usize>(&'static str);

impl<'de, const N: usize> Visitor<'de> for ComponentsVisitor<N> {
    type Value = [f32; N];

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a {} as an array of {N} numbers or an object", self.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = [0.0; N];
        for (i, slot) in out.iter_mut().enumerate() {
            let v: f64 = seq
                .next_element()?
                .ok_or_else(|| de::Error::invalid_length(i, &self))?;
            *slot = finite(v, self.0)?;
        }
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(N + 1, &self));
        }
        Ok(out)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        const NAMES: [&str; 4] = ["x", "y", "z", "w"];
        let mut out = [None; N];
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match NAMES[..N].iter().position(|n| *n == key) {
                Some(i) => out[i] = Some(finite(map.next_value::<f64>()?, self.0)?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let mut res = [0.0; N];
        for i in 0..N {
            res[i] = out[i].ok_or_else(|| de::Error::missing_field(NAMES[i]))?;
        }
        Ok(res)
    }
}

impl<'de> Deserialize<'de> for Vec3 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ComponentsVisitor::<3>("vector"))
            .map(Vec3)
    }
}

impl<'de> Deserialize<'de> for Quat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let [x, y, z, w] = d.deserialize_any(ComponentsVisitor::<4>("quaternion"))?;
        let norm = (x * x + y * y + z * z + w * w).sqrt();
        if !(norm > 1e-6 && norm.is_finite()) {
            return Err(de::Error::custom("quaternion has zero length"));
        }
        Ok(Quat([x / norm, y / norm, z / norm, w / norm]))
    }
}
