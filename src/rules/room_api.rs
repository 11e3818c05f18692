//! The native half of the script's `room` object (the JavaScript half is in
//! `prelude.js`): reading the view of the room, and recording the actions a hook asks for.
//! Every argument is checked here, at the script's call, so a bad one throws in the
//! script; what passes is recorded, in order, for the caller to apply when the hook
//! returns.

use std::sync::{Arc, Mutex, MutexGuard};

use rquickjs::{Ctx, Function, Object, Value};

use super::convert::{self, range_error};
use super::{
    Action, BallView, ClientView, MAX_ACTIONS, MAX_DATA_BYTES, MAX_RESULT_BYTES, MAX_STATE_BYTES,
};

/// What the natives share with [`super::Rules`] during a hook call.
#[derive(Default)]
pub(super) struct Host {
    pub clients: Vec<ClientView>,
    pub balls: Vec<BallView>,
    pub actions: Vec<Action>,
    /// The state given to `setState` during this call, if any.
    pub new_state: Option<serde_json::Value>,
}

pub(super) type SharedHost = Arc<Mutex<Host>>;

/// The host's lock. Nothing panics while holding it, but a poisoned lock is still usable.
pub(super) fn lock(host: &SharedHost) -> MutexGuard<'_, Host> {
    host.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Record `action`, unless the hook already asked for `MAX_ACTIONS`.
fn push(ctx: &Ctx<'_>, host: &SharedHost, action: Action) -> rquickjs::Result<()> {
    let mut host = lock(host);
    if host.actions.len() >= MAX_ACTIONS {
        return Err(range_error(
            ctx,
            &format!("a hook may ask for at most {MAX_ACTIONS} actions"),
        ));
    }
    if let Action::SetState(state) = &action {
        host.new_state = Some(state.clone());
    }
    host.actions.push(action);
    Ok(())
}

fn known_ball(ctx: &Ctx<'_>, host: &SharedHost, value: &Value<'_>) -> rquickjs::Result<u32> {
    let id = convert::ball_id(ctx, value)?;
    if !lock(host).balls.iter().any(|b| b.id == id) {
        return Err(range_error(
            ctx,
            &format!("no ball with id {id} in this room"),
        ));
    }
    Ok(id)
}

fn known_client(ctx: &Ctx<'_>, host: &SharedHost, value: &Value<'_>) -> rquickjs::Result<u64> {
    let id = convert::client_id(ctx, value)?;
    if !lock(host).clients.iter().any(|c| c.id == id) {
        return Err(range_error(
            ctx,
            &format!("no client with id {id} in this room"),
        ));
    }
    Ok(id)
}

/// The object of native functions `prelude.js` builds `room` on. Each takes exactly the
/// arguments `room`'s method passes (missing ones are `undefined`). Script values are
/// converted before the host is locked: converting may run the script's own code
/// (`toJSON`, getters), which may call these natives again.
pub(super) fn natives<'js>(ctx: &Ctx<'js>, host: &SharedHost) -> rquickjs::Result<Object<'js>> {
    let natives = Object::new(ctx.clone())?;

    let h = host.clone();
    let clients = move |ctx: Ctx<'js>| -> rquickjs::Result<Value<'js>> {
        let clients = lock(&h).clients.clone();
        convert::to_js(&ctx, &clients)
    };
    natives.set("clients", Function::new(ctx.clone(), clients)?)?;

    let h = host.clone();
    let balls = move |ctx: Ctx<'js>| -> rquickjs::Result<Value<'js>> {
        let balls = lock(&h).balls.clone();
        convert::to_js(&ctx, &balls)
    };
    natives.set("balls", Function::new(ctx.clone(), balls)?)?;

    let h = host.clone();
    let reset_ball = move |ctx: Ctx<'js>, id: Value<'js>, position: Value<'js>| {
        let ball = known_ball(&ctx, &h, &id)?;
        let position = if position.is_undefined() || position.is_null() {
            None
        } else {
            Some(convert::vec3(&ctx, &position, "position")?)
        };
        push(&ctx, &h, Action::ResetBall { ball, position })
    };
    natives.set("resetBall", Function::new(ctx.clone(), reset_ball)?)?;

    let h = host.clone();
    let apply_impulse = move |ctx: Ctx<'js>, id: Value<'js>, impulse: Value<'js>| {
        let ball = known_ball(&ctx, &h, &id)?;
        let impulse = convert::vec3(&ctx, &impulse, "impulse")?;
        push(&ctx, &h, Action::ApplyImpulse { ball, impulse })
    };
    natives.set("applyImpulse", Function::new(ctx.clone(), apply_impulse)?)?;

    let h = host.clone();
    let set_team = move |ctx: Ctx<'js>, client: Value<'js>, team: Value<'js>| {
        let client = known_client(&ctx, &h, &client)?;
        let team = convert::team(&ctx, &team)?;
        push(&ctx, &h, Action::SetTeam { client, team })
    };
    natives.set("setTeam", Function::new(ctx.clone(), set_team)?)?;

    let h = host.clone();
    let send = move |ctx: Ctx<'js>, client: Value<'js>, name: Value<'js>, data: Value<'js>| {
        let client = known_client(&ctx, &h, &client)?;
        let name = convert::name(&ctx, &name)?;
        let (data, _) = convert::from_js(&ctx, data, "message data", MAX_DATA_BYTES)?;
        push(&ctx, &h, Action::Send { client, name, data })
    };
    natives.set("send", Function::new(ctx.clone(), send)?)?;

    let h = host.clone();
    let broadcast = move |ctx: Ctx<'js>, name: Value<'js>, data: Value<'js>| {
        let name = convert::name(&ctx, &name)?;
        let (data, _) = convert::from_js(&ctx, data, "message data", MAX_DATA_BYTES)?;
        push(&ctx, &h, Action::Broadcast { name, data })
    };
    natives.set("broadcast", Function::new(ctx.clone(), broadcast)?)?;

    // Returns the copy `room.state` then reads, so later changes to the object given do
    // not change the saved state behind the script's back.
    let h = host.clone();
    let set_state = move |ctx: Ctx<'js>, state: Value<'js>| -> rquickjs::Result<Value<'js>> {
        let (state, text) = convert::from_js(&ctx, state, "state", MAX_STATE_BYTES)?;
        push(&ctx, &h, Action::SetState(state))?;
        ctx.json_parse(text)
    };
    natives.set("setState", Function::new(ctx.clone(), set_state)?)?;

    let h = host.clone();
    let end = move |ctx: Ctx<'js>, result: Value<'js>| {
        let (result, _) = convert::from_js(&ctx, result, "result", MAX_RESULT_BYTES)?;
        push(&ctx, &h, Action::End(result))
    };
    natives.set("end", Function::new(ctx.clone(), end)?)?;

    Ok(natives)
}
