//! [`Rules`]: one room's rules module, loaded into its sandbox, and the hook calls on it.

use std::sync::Arc;

use rquickjs::{Array, Ctx, Function, Module, Object, Value};

use super::convert;
use super::room_api::{self, Host, SharedHost};
use super::sandbox::{Fault, LOAD_BUDGETS, Sandbox};
use super::{
    HOOK_NAMES, Hook, HookFailure, HookOutcome, KickVerdict, LoadProblem, MAX_SOURCE_BYTES,
    MAX_TICK_RATE, RULES_FAILED, RoomView, RulesError, RulesLimits,
};

/// One room's rules: a module loaded into a runtime of its own. `Send`, so the room task
/// may move between threads; not `Sync` (one call at a time, `&mut self`).
pub struct Rules {
    file: String,
    tick_rate: Option<f64>,
    /// Which of `HOOK_NAMES` the module defines.
    hooks: [bool; HOOK_NAMES.len()],
    /// The last state given to `setState` by a call that succeeded (or restored).
    state: Option<serde_json::Value>,
    host: SharedHost,
    sandbox: Sandbox,
}

/// A failed run: the script's fault, or something the engine found wrong with it.
enum Failed<P> {
    Fault(Fault),
    Other(P),
}

impl<P> From<Fault> for Failed<P> {
    fn from(fault: Fault) -> Self {
        Failed::Fault(fault)
    }
}

/// The host's own object in the context (`prelude.js`).
fn api<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Object<'js>> {
    ctx.globals().get("__ballroom__")
}

impl Rules {
    /// Compile and run the module `source` (named `file` in errors and stack traces) in a
    /// fresh sandbox whose `Math.random` is seeded with `seed`.
    pub fn load(
        file: &str,
        source: &str,
        seed: u64,
        limits: RulesLimits,
    ) -> Result<Rules, RulesError> {
        let refuse = |problem| RulesError {
            file: file.to_owned(),
            problem,
        };
        let at_top = |fault| match fault {
            Fault::Threw(m) if m.contains("could not load module") => LoadProblem::Import(m),
            Fault::Threw(m) => LoadProblem::Threw(m),
            Fault::TimedOut => LoadProblem::TimedOut(limits.time * LOAD_BUDGETS),
            Fault::OutOfMemory => LoadProblem::OutOfMemory(limits.memory),
        };
        if source.len() > MAX_SOURCE_BYTES {
            return Err(refuse(LoadProblem::TooLarge(source.len())));
        }
        let host: SharedHost = Arc::new(std::sync::Mutex::new(Host::default()));
        let sandbox = Sandbox::new(limits, &host, seed).map_err(|f| refuse(at_top(f)))?;
        let loaded = sandbox.run_for(limits.time * LOAD_BUDGETS, |ctx| {
            load_module(&sandbox, ctx, file, source)
        });
        let (hooks, tick_rate) = loaded.map_err(|failed| {
            refuse(match failed {
                Failed::Fault(fault) => at_top(fault),
                Failed::Other(problem) => problem,
            })
        })?;
        Ok(Rules {
            file: file.to_owned(),
            tick_rate,
            hooks,
            state: None,
            host,
            sandbox,
        })
    }

    /// The file the rules were loaded from.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// How often the module wants `onTick`, per second (its `tickRate` export).
    pub fn tick_rate(&self) -> Option<f64> {
        self.tick_rate
    }

    /// Every how many room ticks to call `onTick` in a room ticking `room_tick_rate` times
    /// a second: at most every tick, `None` without a `tickRate` or an `onTick`.
    pub fn tick_every(&self, room_tick_rate: f64) -> Option<u64> {
        let rate = self.tick_rate.filter(|_| self.has_hook("onTick"))?;
        let every = (room_tick_rate / rate).round();
        Some(if every.is_finite() && every >= 1.0 {
            every as u64
        } else {
            1
        })
    }

    /// Whether the module defines hook `name` (`"onKick"`, ...).
    pub fn has_hook(&self, name: &str) -> bool {
        HOOK_NAMES
            .iter()
            .position(|h| *h == name)
            .is_some_and(|i| self.hooks[i])
    }

    /// The last state a hook gave `room.setState` (or [`Rules::restore_state`] set): what
    /// to save with the room.
    pub fn state(&self) -> Option<&serde_json::Value> {
        self.state.as_ref()
    }

    /// Put back a saved state (after a restart, before `onStart`): `room.state` reads it.
    pub fn restore_state(&mut self, state: serde_json::Value) -> Result<(), HookFailure> {
        self.set_script_state(Some(&state))
            .map_err(|fault| self.failure("restore", fault))?;
        self.state = Some(state);
        Ok(())
    }

    /// Run `hook` against `view`. A module without that hook accepts and asks for nothing.
    /// A hook that fails has no effect: no actions, its `setState` undone, and a failed
    /// `onKick` refuses with [`RULES_FAILED`].
    pub fn call(&mut self, hook: Hook, view: &RoomView) -> HookOutcome {
        let name = hook.name();
        if !self.has_hook(name) {
            return HookOutcome::empty();
        }
        {
            let mut host = room_api::lock(&self.host);
            host.clients.clone_from(&view.clients);
            host.balls.clone_from(&view.balls);
            host.actions.clear();
            host.new_state = None;
        }
        let sandbox = &self.sandbox;
        let result = sandbox.run(|ctx| -> Result<KickVerdict, Failed<String>> {
            let fault = |e| sandbox.fault(ctx, e);
            let invoke: Function = api(ctx).and_then(|api| api.get("invoke")).map_err(fault)?;
            let (a1, a2, a3) = hook_args(ctx, &hook).map_err(fault)?;
            let tick = view.tick as f64;
            let returned: Value = invoke
                .call((tick, view.time, name, a1, a2, a3))
                .map_err(fault)?;
            match hook {
                Hook::Kick(_) => convert::verdict(ctx, &returned).map_err(Failed::Other),
                _ if returned.is_promise() => Err(Failed::Other(
                    "a promise: hooks must not be async".to_owned(),
                )),
                _ => Ok(KickVerdict::Accept),
            }
        });
        let (actions, new_state) = {
            let mut host = room_api::lock(&self.host);
            (std::mem::take(&mut host.actions), host.new_state.take())
        };
        match result {
            Ok(verdict) => {
                if new_state.is_some() {
                    self.state = new_state;
                }
                HookOutcome {
                    actions,
                    verdict,
                    failure: None,
                }
            }
            Err(failed) => {
                let failure = match failed {
                    Failed::Fault(fault) => self.failure(name, fault),
                    Failed::Other(message) => HookFailure::BadReturn {
                        hook: name,
                        message,
                    },
                };
                if new_state.is_some() {
                    // `room.state` goes back to what was saved. Should even that fail,
                    // the next successful `setState` sets it right.
                    let _ = self.set_script_state(self.state.clone().as_ref());
                }
                let verdict = match hook {
                    Hook::Kick(_) => KickVerdict::Refuse(RULES_FAILED.to_owned()),
                    _ => KickVerdict::Accept,
                };
                HookOutcome {
                    actions: Vec::new(),
                    verdict,
                    failure: Some(failure),
                }
            }
        }
    }

    fn failure(&self, hook: &'static str, fault: Fault) -> HookFailure {
        let limits = self.sandbox.limits();
        match fault {
            Fault::Threw(message) => HookFailure::Threw { hook, message },
            Fault::TimedOut => HookFailure::TimedOut {
                hook,
                budget: limits.time,
            },
            Fault::OutOfMemory => HookFailure::OutOfMemory {
                hook,
                limit: limits.memory,
            },
        }
    }

    /// What `room.options` reads from now on: the scene's `rules_options` (frozen; `{}`
    /// without any).
    pub fn set_options(&mut self, options: &serde_json::Value) -> Result<(), HookFailure> {
        let sandbox = &self.sandbox;
        sandbox
            .run(|ctx| {
                let fault = |e| sandbox.fault(ctx, e);
                let set: Function = api(ctx).and_then(|api| api.get("options")).map_err(fault)?;
                let value = convert::to_js(ctx, options).map_err(fault)?;
                set.call::<_, ()>((value,)).map_err(fault)
            })
            .map_err(|fault| self.failure("options", fault))
    }

    /// What `room.state` reads in the script.
    fn set_script_state(&self, state: Option<&serde_json::Value>) -> Result<(), Fault> {
        let sandbox = &self.sandbox;
        sandbox.run(|ctx| {
            let fault = |e| sandbox.fault(ctx, e);
            let restore: Function = api(ctx).and_then(|api| api.get("restore")).map_err(fault)?;
            let value = convert::to_js(ctx, &state).map_err(fault)?;
            restore.call::<_, ()>((value,)).map_err(fault)
        })
    }
}

/// The hook's arguments after `room`, as the script sees them.
fn hook_args<'js>(
    ctx: &Ctx<'js>,
    hook: &Hook,
) -> rquickjs::Result<(Value<'js>, Value<'js>, Value<'js>)> {
    let none = || Value::new_undefined(ctx.clone());
    Ok(match hook {
        Hook::Start | Hook::Tick => (none(), none(), none()),
        Hook::Join(client) | Hook::Leave(client) => (convert::to_js(ctx, client)?, none(), none()),
        Hook::Kick(kick) => (convert::to_js(ctx, kick)?, none(), none()),
        Hook::Message { client, name, data } => (
            convert::to_js(ctx, client)?,
            convert::to_js(ctx, name)?,
            convert::to_js(ctx, data)?,
        ),
        Hook::Sensor(event) => (convert::to_js(ctx, event)?, none(), none()),
    })
}

type Loaded = ([bool; HOOK_NAMES.len()], Option<f64>);

/// Compile, link and run the module, then check its exports and hand its hooks to the
/// prelude.
fn load_module(
    sandbox: &Sandbox,
    ctx: &Ctx<'_>,
    file: &str,
    source: &str,
) -> Result<Loaded, Failed<LoadProblem>> {
    let fault = |e| sandbox.fault(ctx, e);
    let declared = Module::declare(ctx.clone(), file, source).map_err(|e| {
        Failed::Other(match fault(e) {
            Fault::Threw(m) if m.contains("could not load module") => LoadProblem::Import(m),
            Fault::Threw(m) => LoadProblem::Syntax(m),
            Fault::TimedOut => LoadProblem::TimedOut(sandbox.limits().time * LOAD_BUDGETS),
            Fault::OutOfMemory => LoadProblem::OutOfMemory(sandbox.limits().memory),
        })
    })?;
    let (module, done) = declared.eval().map_err(fault)?;
    match done.finish::<Value>() {
        Ok(_) => {}
        Err(rquickjs::Error::WouldBlock) => {
            return Err(Failed::Other(LoadProblem::Threw(
                "the top level never finished (a top-level await that never settles)".into(),
            )));
        }
        Err(e) => return Err(fault(e).into()),
    }
    let default: Value = module.get("default").map_err(fault)?;
    let bad = |why: &str| Failed::Other(LoadProblem::BadDefault(why.to_owned()));
    if default.is_undefined() {
        return Err(bad("there is none"));
    }
    if default.is_function() || default.is_array() {
        return Err(bad(&format!("it is a {}", default.type_name())));
    }
    let Some(exported) = default.as_object() else {
        return Err(bad(&format!("it is {}", default.type_name())));
    };
    let mut hooks = [false; HOOK_NAMES.len()];
    let names = Array::new(ctx.clone()).map_err(fault)?;
    for key in exported.keys::<String>() {
        let key = key.map_err(fault)?;
        let Some(i) = HOOK_NAMES.iter().position(|h| *h == key) else {
            return Err(Failed::Other(LoadProblem::UnknownHook(key)));
        };
        let value: Value = exported.get(key.as_str()).map_err(fault)?;
        if !value.is_function() {
            return Err(Failed::Other(LoadProblem::NotAFunction(key)));
        }
        hooks[i] = true;
        names.set(names.len(), key).map_err(fault)?;
    }
    let tick_rate: Value = module.get("tickRate").map_err(fault)?;
    let tick_rate = if tick_rate.is_undefined() {
        None
    } else {
        match tick_rate.as_number() {
            Some(r) if r > 0.0 && r <= MAX_TICK_RATE => Some(r),
            Some(r) => return Err(Failed::Other(LoadProblem::BadTickRate(r.to_string()))),
            None => {
                return Err(Failed::Other(LoadProblem::BadTickRate(format!(
                    "a {}",
                    tick_rate.type_name()
                ))));
            }
        }
    };
    let install: Function = api(ctx).and_then(|api| api.get("install")).map_err(fault)?;
    install
        .call::<_, ()>((default.clone(), names))
        .map_err(fault)?;
    Ok((hooks, tick_rate))
}
