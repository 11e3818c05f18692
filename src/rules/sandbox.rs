//! One room's JavaScript runtime and its limits: a QuickJS runtime and context of its own,
//! a memory cap, a time budget per run enforced by the interrupt handler, and the prelude
//! (`prelude.js`) that makes the globals reproducible and builds `room`. Failures of the
//! script are classified here ([`Fault`]); what they mean for a load or a hook is the
//! engine's business (`engine.rs`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rquickjs::context::EvalOptions;
use rquickjs::context::intrinsic::{
    Date, Eval, Json, MapSet, Promise, Proxy, RegExp, RegExpCompiler, TypedArrays,
};
use rquickjs::{Context, Ctx, Function, Runtime, Value};

use super::RulesLimits;
use super::room_api::{self, SharedHost};

const PRELUDE: &str = include_str!("prelude.js");

/// QuickJS's own stack limit (its default), well within a 2 MiB thread stack (tokio's and
/// the test threads'): deep recursion (some 1,500 calls) is a `RangeError` in the script,
/// never a crash.
const MAX_STACK: usize = 1024 * 1024;

/// The module's top level (compiling it included) may take this many hook budgets: it
/// runs once, and may build tables.
pub(super) const LOAD_BUDGETS: u32 = 10;

/// The intrinsics a rules context gets. Left out: `performance` (a wall clock),
/// `WeakRef`/`FinalizationRegistry` (they tell when the collector ran) and `DOMException`.
type Intrinsics = (
    Date,
    Eval,
    RegExpCompiler,
    RegExp,
    Json,
    Proxy,
    MapSet,
    TypedArrays,
    Promise,
);

/// Why running script code failed.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Fault {
    /// The script threw (or the engine refused something): the error as text.
    Threw(String),
    TimedOut,
    OutOfMemory,
}

/// The deadline of the run under way, read by the interrupt handler.
struct Budget {
    origin: Instant,
    /// Nanoseconds after `origin`; `u64::MAX` when no run is under way.
    deadline: AtomicU64,
    /// The handler interrupted the run under way.
    fired: AtomicBool,
}

impl Budget {
    fn now(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn arm(&self, budget: Duration) {
        let budget = u64::try_from(budget.as_nanos()).unwrap_or(u64::MAX);
        self.fired.store(false, Ordering::Relaxed);
        self.deadline
            .store(self.now().saturating_add(budget), Ordering::Relaxed);
    }

    fn disarm(&self) {
        self.deadline.store(u64::MAX, Ordering::Relaxed);
    }

    /// The interrupt handler: true stops the script with an uncatchable error.
    fn interrupt(&self) -> bool {
        let deadline = self.deadline.load(Ordering::Relaxed);
        if deadline != u64::MAX && self.now() > deadline {
            self.fired.store(true, Ordering::Relaxed);
            return true;
        }
        false
    }
}

/// One room's runtime and context.
pub(super) struct Sandbox {
    budget: Arc<Budget>,
    limits: RulesLimits,
    context: Context,
    runtime: Runtime,
}

impl Sandbox {
    /// A fresh runtime with the prelude run and `room` built on `host`'s natives.
    pub fn new(limits: RulesLimits, host: &SharedHost, seed: u64) -> Result<Sandbox, Fault> {
        let engine = |e: rquickjs::Error| Fault::Threw(format!("engine: {e}"));
        let runtime = Runtime::new().map_err(engine)?;
        runtime.set_memory_limit(limits.memory);
        runtime.set_max_stack_size(MAX_STACK);
        let budget = Arc::new(Budget {
            origin: Instant::now(),
            deadline: AtomicU64::new(u64::MAX),
            fired: AtomicBool::new(false),
        });
        let handler = budget.clone();
        runtime.set_interrupt_handler(Some(Box::new(move || handler.interrupt())));
        let context = Context::builder()
            .with::<Intrinsics>()
            .build(&runtime)
            .map_err(engine)?;
        let sandbox = Sandbox {
            budget,
            limits,
            context,
            runtime,
        };
        sandbox.run_for(limits.time * LOAD_BUDGETS, |ctx| {
            let fault = |e| sandbox.fault(ctx, e);
            let mut options = EvalOptions::default();
            options.filename = Some("ballroom:prelude.js".to_owned());
            let setup: Function = ctx.eval_with_options(PRELUDE, options).map_err(fault)?;
            let natives = room_api::natives(ctx, host).map_err(fault)?;
            setup
                .call::<_, ()>((seed_words(seed).to_vec(), natives))
                .map_err(fault)
        })?;
        Ok(sandbox)
    }

    pub fn limits(&self) -> RulesLimits {
        self.limits
    }

    /// Run `f` in the context within the time budget of a hook.
    pub fn run<R, E: From<Fault>>(&self, f: impl FnOnce(&Ctx<'_>) -> Result<R, E>) -> Result<R, E> {
        self.run_for(self.limits.time, f)
    }

    /// Run `f` in the context within `budget`. After a failed run the collector runs, so
    /// what the failed code held is freed before the next run.
    pub fn run_for<R, E: From<Fault>>(
        &self,
        budget: Duration,
        f: impl FnOnce(&Ctx<'_>) -> Result<R, E>,
    ) -> Result<R, E> {
        self.budget.arm(budget);
        let result = self.context.with(|ctx| {
            let result = f(&ctx);
            // Promise callbacks the run queued run now, within the same budget. Their
            // errors are unhandled rejections, dropped; running past the budget is not.
            while !self.timed_out() && ctx.execute_pending_job() {}
            result
        });
        let result = match result {
            Ok(_) if self.timed_out() => Err(E::from(Fault::TimedOut)),
            other => other,
        };
        self.budget.disarm();
        if result.is_err() {
            self.runtime.run_gc();
        }
        result
    }

    /// The run under way was interrupted for its budget.
    pub fn timed_out(&self) -> bool {
        self.budget.fired.load(Ordering::Relaxed)
    }

    /// What a failed engine call means: the pending exception, classified.
    pub fn fault(&self, ctx: &Ctx<'_>, error: rquickjs::Error) -> Fault {
        if !matches!(error, rquickjs::Error::Exception) {
            return Fault::Threw(error.to_string());
        }
        let thrown = ctx.catch();
        if self.timed_out() {
            return Fault::TimedOut;
        }
        describe(&thrown)
    }
}

/// An exception as text, or what it says about memory. Reads only the error's `name`,
/// `message` and `stack`; a thrown non-error is told by its type, or its text if it is
/// a string or a number.
fn describe(thrown: &Value<'_>) -> Fault {
    if let Some(exception) = thrown.as_exception() {
        let message = exception.message().unwrap_or_default();
        let name: String = exception
            .get::<_, rquickjs::Coerced<String>>("name")
            .map(|n| n.0)
            .unwrap_or_else(|_| "Error".to_owned());
        if name == "InternalError" && message == "out of memory" {
            return Fault::OutOfMemory;
        }
        let at = exception.stack().and_then(|s| {
            s.lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(str::to_owned)
        });
        return Fault::Threw(match at {
            Some(at) => format!("{name}: {message} ({at})"),
            None => format!("{name}: {message}"),
        });
    }
    if thrown.is_null() {
        // What the engine leaves when it could not even allocate the error.
        return Fault::OutOfMemory;
    }
    let text = if let Some(s) = thrown.as_string() {
        s.to_string().unwrap_or_default()
    } else if let Some(n) = thrown.as_number() {
        n.to_string()
    } else {
        format!("a {}", thrown.type_name())
    };
    Fault::Threw(format!("threw {text}"))
}

/// The PRNG's four 32-bit seed words: SplitMix64 of `seed`, twice.
fn seed_words(seed: u64) -> [u32; 4] {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let (x, y) = (next(), next());
    [x as u32, (x >> 32) as u32, y as u32, (y >> 32) as u32]
}
