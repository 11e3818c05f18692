//! `docs/PROTOCOL.md` against the codec: the parameters example, the frame layout tables
//! and the error bounds table are read from the document and checked against what the
//! code derives and writes.

use std::collections::BTreeMap;

use super::params::rotation_max;
use super::tests::params;
use super::*;
use crate::doc_tables::{code_block_after, table_after};

#[test]
fn the_documented_parameters_are_kickballs_at_60_hz() {
    let documented: serde_json::Value =
        serde_json::from_str(&code_block_after("### Parameters")).expect("valid JSON");
    let derived = serde_json::to_value(params("kickballs")).unwrap();
    assert_eq!(documented, derived);
    // Every field of the parameters has a row in the table after the example.
    let rows: Vec<String> = table_after("| Field | Meaning | How it is derived |")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    for key in derived.as_object().unwrap().keys() {
        assert!(
            rows.iter().any(|r| r.contains(key.as_str())),
            "no row for `{key}` in {rows:?}"
        );
    }
}

/// The size in bits of one row's "Bits" cell for the scene's parameters, or `None` for a
/// row whose size is not fixed.
fn cell_bits(p: &Params, cell: &str) -> Option<u32> {
    let cell = cell.replace('`', "");
    Some(match cell.as_str() {
        "1" => 1,
        "u(bits(steps[i])) × 3" => (0..3).map(|a| p.position_bits(a)).sum(),
        "u(2) + u(B) × 3" => 2 + 3 * p.rotation_bits,
        _ => return None,
    })
}

#[test]
fn the_keyframe_table_adds_up_to_the_keyframes_the_encoder_writes() {
    let p = params("kickballs");
    let rows = table_after("**Keyframe** (bit 0 clear)");
    let names: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        names,
        [
            "`sleeping`",
            "`moving`",
            "position",
            "rotation",
            "linvel (if `moving`)",
            "angvel (if `moving`)"
        ]
    );
    // The fixed part of a ball, from the table, and the velocities of a moving one.
    let fixed: u32 = rows[..4]
        .iter()
        .map(|r| cell_bits(&p, &r[1]).expect("a fixed size"))
        .sum();
    assert_eq!(rows[4][1], "`u(bits(2 × limit))` × 3");
    assert_eq!(rows[5][1], "`u(bits(2 × limit))` × 3");
    let velocities = 3 * (p.linvel.bits() + p.angvel.bits());

    // Three balls, the first two moving, at tick 100 (a one-byte varint): no players and
    // no acks, so the frame is the flags byte, the tick and the balls.
    let mut s = QuantizedSnapshot {
        tick: 100,
        balls: vec![
            QBall {
                sleeping: false,
                position: [1, 2, 3],
                rotation: QRot::IDENTITY,
                linvel: [5, -6, 7],
                angvel: [0, 1, 0],
            };
            3
        ],
        players: Vec::new(),
        acks: BTreeMap::new(),
    };
    s.balls[2].linvel = [0; 3];
    s.balls[2].angvel = [0; 3];
    let bits = 3 * fixed + 2 * velocities;
    let frame = encode(&p, None, &s);
    assert_eq!(frame.len() as u32, 2 + bits.div_ceil(8), "{bits} bits");
    assert_eq!(decode(&p, None, &frame).unwrap(), s);
}

#[test]
fn the_delta_table_names_the_fields_in_the_order_they_are_read() {
    let rows = table_after("**Delta** (bit 0 set)");
    let names: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        names,
        [
            "`changed`",
            "`sleeping`",
            "`ballistic`",
            "linvel residuals",
            "angvel residuals",
            "position residuals",
            "`same_largest`",
            "rotation residuals"
        ]
    );
    // An unchanged ball costs the one bit the table promises: three of them and the
    // padding make one byte after the header.
    let p = params("kickballs");
    let base = QuantizedSnapshot {
        tick: 40,
        balls: vec![
            QBall {
                sleeping: true,
                position: [9, 9, 9],
                rotation: QRot::IDENTITY,
                linvel: [0; 3],
                angvel: [0; 3],
            };
            3
        ],
        players: Vec::new(),
        acks: BTreeMap::new(),
    };
    let mut next = base.clone();
    next.tick = 100;
    let frame = encode(&p, Some(&base), &next);
    assert_eq!(
        frame.len(),
        1 + 1 + 1 + 1,
        "flags, tick, tick delta, 3 bits + padding"
    );
    assert_eq!(frame[3], 0);
}

#[test]
fn the_error_bounds_table_states_the_declared_bounds() {
    let p = params("kickballs");
    let rows = table_after("| Value | Sent integer | Decoded | Error bound");
    let bound = |value: &str| -> String {
        rows.iter()
            .find(|r| r[0].starts_with(value))
            .unwrap_or_else(|| panic!("a row for {value}"))[3]
            .clone()
    };
    // The millimetres, centimetres per second and degrees the table states, to the
    // digits it gives, are the declared bounds; and the declared bounds hold the issue's
    // promise (1 mm, 0.1°, 1 cm/s, 0.01 rad/s).
    let e = &p.max_error;
    assert!(bound("Position").contains(&format!("{:.2} mm", e.position * 1000.0)));
    assert!(bound("Linear velocity").contains(&format!("{:.2} cm/s", e.linvel * 100.0)));
    assert!(bound("Angular velocity").contains(&format!("{:.4} rad/s", e.angvel)));
    assert!(bound("Rotation").contains(&format!("{}°", e.rotation_degrees)));
    assert!(e.position < 0.001 && e.linvel < 0.01 && e.angvel < 0.01);
    assert!(e.rotation_degrees < 0.1);
    // The rotation constant the layout relies on.
    assert_eq!(rotation_max(p.rotation_bits), 2047);
}
