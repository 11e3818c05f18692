//! What crosses between Rust and the script: JSON only. Values go in as JSON text parsed
//! by the engine, and come out as `JSON.stringify` text within a cap; the few typed
//! arguments (ids, vectors, teams, names) are checked here, and a bad one throws a
//! `TypeError` or `RangeError` at the script's call so its author sees it there.

use rquickjs::{Array, Ctx, Exception, Value};
use serde::Serialize;

use super::{KickVerdict, MAX_NAME_LEN, MAX_REASON_LEN, REFUSED_BY_RULES};
use crate::ids::{BallId, ClientId, Team};

/// Largest integer a JavaScript number holds exactly (2^53 - 1).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

pub(super) fn type_error(ctx: &Ctx<'_>, message: &str) -> rquickjs::Error {
    Exception::throw_type(ctx, message)
}

pub(super) fn range_error(ctx: &Ctx<'_>, message: &str) -> rquickjs::Error {
    Exception::throw_range(ctx, message)
}

/// A Rust value into the script, through JSON.
pub(super) fn to_js<'js, T: Serialize + ?Sized>(
    ctx: &Ctx<'js>,
    value: &T,
) -> rquickjs::Result<Value<'js>> {
    let json = serde_json::to_string(value)
        .map_err(|e| Exception::throw_internal(ctx, &format!("not JSON: {e}")))?;
    ctx.json_parse(json)
}

/// A script's value as JSON text of at most `cap` bytes (`undefined` is `null`).
pub(super) fn json_text<'js>(
    ctx: &Ctx<'js>,
    value: Value<'js>,
    what: &str,
    cap: usize,
) -> rquickjs::Result<String> {
    if value.is_undefined() {
        return Ok("null".to_owned());
    }
    let Some(text) = ctx.json_stringify(value)? else {
        return Err(type_error(ctx, &format!("{what} must be JSON data")));
    };
    let text = text.to_string()?;
    if text.len() > cap {
        return Err(range_error(
            ctx,
            &format!(
                "{what} is {} bytes of JSON; at most {cap} are allowed",
                text.len()
            ),
        ));
    }
    Ok(text)
}

/// A script's value as JSON of at most `cap` bytes, and the text it was read from.
pub(super) fn from_js<'js>(
    ctx: &Ctx<'js>,
    value: Value<'js>,
    what: &str,
    cap: usize,
) -> rquickjs::Result<(serde_json::Value, String)> {
    let text = json_text(ctx, value, what, cap)?;
    let json = serde_json::from_str(&text)
        .map_err(|e| type_error(ctx, &format!("{what} is not usable JSON: {e}")))?;
    Ok((json, text))
}

fn integer(ctx: &Ctx<'_>, value: &Value<'_>, what: &str, max: f64) -> rquickjs::Result<f64> {
    let n = value
        .as_number()
        .ok_or_else(|| type_error(ctx, &format!("{what} must be a number")))?;
    if n.fract() != 0.0 || !(0.0..=max).contains(&n) {
        return Err(range_error(
            ctx,
            &format!("{what} must be an integer from 0 to {max}, not {n}"),
        ));
    }
    Ok(n)
}

pub(super) fn ball_id(ctx: &Ctx<'_>, value: &Value<'_>) -> rquickjs::Result<BallId> {
    Ok(integer(ctx, value, "ball id", f64::from(u32::MAX))? as BallId)
}

pub(super) fn client_id(ctx: &Ctx<'_>, value: &Value<'_>) -> rquickjs::Result<ClientId> {
    Ok(integer(ctx, value, "client id", MAX_SAFE_INTEGER)? as ClientId)
}

/// `[x, y, z]`, three finite numbers (finite as `f32` too).
pub(super) fn vec3(ctx: &Ctx<'_>, value: &Value<'_>, what: &str) -> rquickjs::Result<[f32; 3]> {
    let bad = || {
        type_error(
            ctx,
            &format!("{what} must be an array [x, y, z] of numbers"),
        )
    };
    let array: &Array = value.as_array().ok_or_else(bad)?;
    if array.len() != 3 {
        return Err(bad());
    }
    let mut out = [0.0f32; 3];
    for (i, slot) in out.iter_mut().enumerate() {
        let v: Value = array.get(i)?;
        let n = v.as_number().ok_or_else(bad)?;
        let x = n as f32;
        if !x.is_finite() {
            return Err(range_error(
                ctx,
                &format!("{what} must be finite, not {n} at [{i}]"),
            ));
        }
        *slot = x;
    }
    Ok(out)
}

/// `"blue"`, `"red"`, or `null`/`undefined` for none.
pub(super) fn team(ctx: &Ctx<'_>, value: &Value<'_>) -> rquickjs::Result<Option<Team>> {
    if value.is_null() || value.is_undefined() {
        return Ok(None);
    }
    match value.as_string().map(|s| s.to_string()).transpose()? {
        Some(s) if s == "blue" => Ok(Some(Team::Blue)),
        Some(s) if s == "red" => Ok(Some(Team::Red)),
        _ => Err(type_error(ctx, "team must be \"blue\", \"red\" or null")),
    }
}

/// Whether `name` is a message name: 1 to `MAX_NAME_LEN` ASCII letters, digits, `_-.:`.
pub(super) fn is_name(name: &str) -> bool {
    (1..=MAX_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b))
}

pub(super) fn name(ctx: &Ctx<'_>, value: &Value<'_>) -> rquickjs::Result<String> {
    let name = match value.as_string() {
        Some(s) => s.to_string()?,
        None => return Err(type_error(ctx, "a message name must be a string")),
    };
    if !is_name(&name) {
        return Err(type_error(
            ctx,
            &format!(
                "message name {name:?} must be 1 to {MAX_NAME_LEN} ASCII letters, digits, '_', '-', '.' or ':'"
            ),
        ));
    }
    Ok(name)
}

/// What `onKick` returned: nothing or `true` accepts, `false` or `{refuse: reason}`
/// refuses, `{impulse: [x, y, z]}` changes the kick. `Err` says what was wrong.
pub(super) fn verdict<'js>(ctx: &Ctx<'js>, value: &Value<'js>) -> Result<KickVerdict, String> {
    if value.is_undefined() || value.as_bool() == Some(true) {
        return Ok(KickVerdict::Accept);
    }
    if value.as_bool() == Some(false) {
        return Ok(KickVerdict::Refuse(REFUSED_BY_RULES.to_owned()));
    }
    let shape = || {
        format!(
            "{} from onKick; expected nothing, true, false, {{refuse: \"reason\"}} or {{impulse: [x, y, z]}}",
            value.type_name()
        )
    };
    let object = value.as_object().filter(|_| !value.is_array());
    let Some(object) = object else {
        return Err(shape());
    };
    // Reading may run a getter of the script's: what it throws is its answer's fault.
    let field = |key: &str| -> Result<Value<'js>, String> {
        object.get(key).map_err(|e| {
            let _ = ctx.catch();
            format!("an object whose `{key}` could not be read ({e})")
        })
    };
    let refuse = field("refuse")?;
    let impulse = field("impulse")?;
    match (refuse.is_undefined(), impulse.is_undefined()) {
        (false, true) => {
            let reason = match refuse.as_string() {
                Some(s) => s.to_string().map_err(|e| e.to_string())?,
                None => return Err(format!("a {} refuse reason", refuse.type_name())),
            };
            if reason.is_empty()
                || reason.chars().count() > MAX_REASON_LEN
                || reason.chars().any(char::is_control)
            {
                return Err(format!(
                    "refuse reason {reason:?}; it must be 1 to {MAX_REASON_LEN} characters, no control characters"
                ));
            }
            Ok(KickVerdict::Refuse(reason))
        }
        (true, false) => match vec3(ctx, &impulse, "impulse") {
            Ok(v) => Ok(KickVerdict::Change(v)),
            Err(_) => {
                // `vec3` threw for the script's call sites; here it is the return value.
                let _ = ctx.catch();
                Err("an impulse that is not [x, y, z] of finite numbers".to_owned())
            }
        },
        _ => Err(shape()),
    }
}
