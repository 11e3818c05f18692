//! Physics clients: join with `?scene=`, stand by one ball and kick it now and then with a
//! numbered `seq`; measure the time from a kick to the first snapshot that acks it,
//! snapshot jitter and missed snapshots (tick gaps). The steady clients of `physics` and
//! `soak` mode and half the churners' sessions run this.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::Value;
use tokio::time::{sleep_until, timeout_at};
use tokio_tungstenite::tungstenite::Message;

use crate::connect::{Ended, Rx, Tx, account, close_reason, received, send};
use crate::context::{Ctx, deadline, lock};
use crate::rng::Rng;
use crate::snapshots::{BallLite, BinaryDecoder, SnapshotView};
use crate::stats::ClientStats;

/// How long a physics client (or a spectator) waits for its `welcome`.
pub const WELCOME_WAIT: Duration = Duration::from_secs(10);

/// The parts of server messages this tool reads; everything else is ignored.
#[derive(Deserialize)]
pub struct Incoming {
    #[serde(rename = "type")]
    kind: Option<String>,
    client: Option<u64>,
    tick: Option<u64>,
    pub tick_rate: Option<f64>,
    pub snapshot_rate: Option<f64>,
    balls: Option<Vec<BallLite>>,
    acks: Option<HashMap<String, u64>>,
    scene: Option<Value>,
    /// The binary snapshot parameters, in a binary client's welcome.
    binary: Option<Value>,
    code: Option<String>,
    seq: Option<u64>,
}

impl Incoming {
    /// A decoded binary snapshot, in the shape of a JSON one (`my_key`: this client's id).
    fn snapshot(view: SnapshotView, my_key: &str) -> Incoming {
        Incoming {
            kind: Some("snapshot".into()),
            client: None,
            tick: Some(view.tick),
            tick_rate: None,
            snapshot_rate: None,
            balls: Some(view.balls),
            acks: view.my_ack.map(|a| HashMap::from([(my_key.to_owned(), a)])),
            scene: None,
            binary: None,
            code: None,
            seq: None,
        }
    }
}

/// A ball of the scene as described in `welcome.scene.balls`.
struct Home {
    id: u64,
    position: [f64; 3],
    radius: f64,
    /// Impulse (N·s) per metre the ball should slide: mass × linear damping.
    per_metre: f64,
}

fn scene_balls(scene: &Value) -> Vec<Home> {
    scene["balls"]
        .as_array()
        .map(|balls| {
            balls
                .iter()
                .filter_map(|b| {
                    let id = b["id"].as_u64()?;
                    let p = b["position"].as_array()?;
                    let position = [
                        p.first()?.as_f64()?,
                        p.get(1)?.as_f64()?,
                        p.get(2)?.as_f64()?,
                    ];
                    let radius = b["radius"].as_f64().unwrap_or(1.0);
                    let mass = b["mass"].as_f64().unwrap_or(5.0);
                    let damping = b["linear_damping"].as_f64().unwrap_or(0.4);
                    Some(Home {
                        id,
                        position,
                        radius,
                        per_metre: (mass * damping).max(0.1),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One physics client's stay: which ball it kicks, and when it stops.
pub struct Session {
    /// Picks the ball (`local` mod the number of balls) and the side to stand on.
    pub local: usize,
    /// No new kicks or poses from here on.
    pub stop: Instant,
    /// Waiting for acks of kicks in flight ends here.
    pub drain: Instant,
}

/// One physics client's session on a connected socket: wait for the welcome, then report a
/// pose and kick until `session.stop`, and read until every kick in flight is answered (at
/// most until `session.drain`).
pub async fn run(
    ctx: &Ctx,
    session: &Session,
    tx: &mut Tx,
    rx: &mut Rx,
    stats: &Mutex<ClientStats>,
    rng: &mut Rng,
) -> Ended {
    // 1. The welcome: our id, the rates, the balls.
    let welcome_by = (Instant::now() + WELCOME_WAIT).min(session.drain);
    let welcome = match await_welcome(ctx, rx, stats, welcome_by).await {
        Ok(w) => w,
        Err(ended) => return ended,
    };
    let Some(my_id) = welcome.client else {
        return Ended::Early("welcome without a client id".into());
    };
    lock(stats).welcomed = true;
    let my_key = my_id.to_string();
    let tick_rate = welcome.tick_rate.unwrap_or(60.0);
    let snapshot_rate = welcome.snapshot_rate.unwrap_or(20.0);
    let interval_ticks = (tick_rate / snapshot_rate).round().max(1.0);
    let expected_gap = 1.0 / snapshot_rate;
    let homes = welcome.scene.as_ref().map(scene_balls).unwrap_or_default();
    let mut decoder = match welcome.binary.map(serde_json::from_value) {
        None => None,
        Some(Ok(params)) => Some(BinaryDecoder::new(params)),
        Some(Err(e)) => return Ended::Early(format!("bad binary parameters in welcome: {e}")),
    };

    // 2. Which ball: (k mod n) for the k-th client of the room. Where to stand is decided
    // on the first snapshot, from where that ball is then (a lingering room keeps the
    // balls where its last clients left them).
    let local = session.local;
    let mine = (!homes.is_empty()).then(|| &homes[local % homes.len()]);
    let mut anchor: Option<[f64; 3]> = None;
    let mut pose: Option<String> = None;
    let mut ball_at = [0.0; 3];

    let pose_period =
        (ctx.args.pose_rate > 0.0).then(|| Duration::from_secs_f64(1.0 / ctx.args.pose_rate));
    let kick_period = Duration::from_secs_f64(ctx.args.kick_interval);
    let mut next_pose = Instant::now();
    let mut next_kick = Instant::now();
    let mut seq = 0u64;
    let mut sending = true;
    let mut prev: Option<(Instant, u64, bool)> = None;
    // One timer each for the whole session, moved on when its deadline does: timers made
    // afresh for every frame received cost the tool more than the frames.
    let mut pose_t = std::pin::pin!(sleep_until(deadline(next_pose)));
    let mut kick_t = std::pin::pin!(sleep_until(deadline(next_kick)));
    let mut stop_t = std::pin::pin!(sleep_until(deadline(session.stop)));
    let mut drain_t = std::pin::pin!(sleep_until(deadline(session.drain)));

    loop {
        if !sending && lock(stats).pending.is_empty() {
            return Ended::Done;
        }
        tokio::select! {
            frame = rx.next() => {
                let now = Instant::now();
                let msg = match received(ctx, stats, frame, now) {
                    Ok(msg) => msg,
                    Err(ended) => return ended,
                };
                let m = match &msg {
                    Message::Binary(bytes) => match decoder.as_mut().map(|d| d.decode(bytes, my_id)) {
                        Some(Ok(Some(view))) => Incoming::snapshot(view, &my_key),
                        Some(Err(e)) => return Ended::Early(format!("undecodable snapshot: {e}")),
                        // Relayed binary (tagged), or binary before any welcome.
                        Some(Ok(None)) | None => continue,
                    },
                    Message::Text(text) => match serde_json::from_str::<Incoming>(text) {
                        Ok(m) => m,
                        Err(_) => continue,
                    },
                    _ => continue,
                };
                match m.kind.as_deref() {
                    Some("snapshot") => {
                        let bytes = msg.len() as u64;
                        let balls = m.balls.unwrap_or_default();
                        let tick = m.tick.unwrap_or(0);
                        let asleep = balls.iter().all(|b| b.sleeping);
                        if let Some(h) = mine
                            && let Some(p) = balls.iter().find(|b| b.id == h.id).and_then(|b| b.p)
                        {
                            ball_at = p;
                            if anchor.is_none() {
                                anchor = Some(p);
                                pose = Some(pose_text(h, p, local / homes.len()));
                                next_pose = now;
                                next_kick = now + kick_period.mul_f64(rng.unit());
                                pose_t.as_mut().reset(deadline(next_pose));
                                kick_t.as_mut().reset(deadline(next_kick));
                            }
                        }
                        let mut s = lock(stats);
                        if ctx.in_window(now) {
                            s.snapshot_bytes += bytes;
                            s.snapshot_frames += 1;
                            s.snapshot_balls += balls.len() as u64;
                            s.snapshot_moving_balls += balls.iter().filter(|b| !b.sleeping).count() as u64;
                        }
                        if let Some(&ack) = m.acks.as_ref().and_then(|a| a.get(&my_key)) {
                            let done: Vec<u64> =
                                s.pending.keys().copied().filter(|&q| q <= ack).collect();
                            for q in done {
                                let (sent, counted) = s.pending.remove(&q).expect("listed");
                                if counted {
                                    let ms = now.duration_since(sent).as_secs_f64() * 1000.0;
                                    s.kick_latency.push(ms, rng);
                                    s.kicks_acked += 1;
                                    ctx.live.kicks_acked.fetch_add(1, Ordering::Relaxed);
                                    ctx.live.hist.record(ms);
                                }
                            }
                        }
                        match prev {
                            Some((_, last_tick, _)) if tick <= last_tick => {}
                            _ => {
                                if ctx.in_window(now) {
                                    s.snapshots += 1;
                                    if let Some((at, last_tick, was_asleep)) = prev {
                                        let dt = now.duration_since(at).as_secs_f64();
                                        let d = (tick - last_tick) as f64;
                                        s.tick_jitter.push((dt - d / tick_rate).abs() * 1000.0, rng);
                                        if !was_asleep {
                                            s.jitter.push((dt - expected_gap).abs() * 1000.0, rng);
                                            s.missed += ((d / interval_ticks).ceil() - 1.0).max(0.0) as u64;
                                        }
                                    }
                                }
                                prev = Some((now, tick, asleep));
                            }
                        }
                    }
                    Some("error") => {
                        let code = m.code.unwrap_or_else(|| "?".into());
                        let mut s = lock(stats);
                        match m.seq.and_then(|q| s.pending.remove(&q)) {
                            Some((_, true)) => s.kick_errors.add(code),
                            Some((_, false)) => {}
                            None if ctx.in_window(now) => s.other_errors.add(code),
                            None => {}
                        }
                    }
                    _ => {}
                }
            }
            _ = pose_t.as_mut(), if sending && pose.is_some() && pose_period.is_some() => {
                let period = pose_period.expect("checked");
                next_pose = (next_pose + period).max(Instant::now());
                pose_t.as_mut().reset(deadline(next_pose));
                if let Some(p) = &pose
                    && let Err(e) = send(ctx, tx, p.clone()).await
                {
                    return Ended::Early(e);
                }
            }
            _ = kick_t.as_mut(), if sending && anchor.is_some() => {
                let now = Instant::now();
                next_kick += kick_period;
                if next_kick < now {
                    next_kick = now + kick_period;
                }
                kick_t.as_mut().reset(deadline(next_kick));
                let (h, home) = (mine.expect("set with anchor"), anchor.expect("checked"));
                let text = kick_text(h, home, ball_at, seq + 1, ctx, rng);
                seq += 1;
                let counted = ctx.in_window(now);
                {
                    let mut s = lock(stats);
                    s.pending.insert(seq, (now, counted));
                    if counted {
                        s.kicks_sent += 1;
                        ctx.live.kicks_sent.fetch_add(1, Ordering::Relaxed);
                    }
                }
                if let Err(e) = send(ctx, tx, text).await {
                    return Ended::Early(e);
                }
            }
            _ = stop_t.as_mut(), if sending => sending = false,
            _ = drain_t.as_mut() => return Ended::Done,
        }
    }
}

/// Read until the `welcome` (at most until `by`); a close frame before it ends the session
/// with its reason (and the `error` code that came before it, if any).
pub async fn await_welcome(
    ctx: &Ctx,
    rx: &mut Rx,
    stats: &Mutex<ClientStats>,
    by: Instant,
) -> Result<Incoming, Ended> {
    let mut refused = None;
    loop {
        let msg = match timeout_at(deadline(by), rx.next()).await {
            Err(_) => return Err(Ended::Early("no welcome in time".into())),
            Ok(None) => return Err(Ended::Early("connection ended before welcome".into())),
            Ok(Some(Err(e))) => {
                return Err(Ended::Early(format!("read error before welcome: {e}")));
            }
            Ok(Some(Ok(m))) => m,
        };
        account(ctx, stats, &msg, Instant::now());
        if let Some(reason) = close_reason(&msg) {
            let code = refused.map_or(String::new(), |c| format!(" (error {c})"));
            return Err(Ended::Early(format!("join refused{code}: {reason}")));
        }
        let Message::Text(text) = &msg else { continue };
        let Ok(m) = serde_json::from_str::<Incoming>(text) else {
            continue;
        };
        match m.kind.as_deref() {
            Some("welcome") => return Ok(m),
            Some("error") => refused = m.code,
            _ => {}
        }
    }
}

/// Stand still next to ball `h`, which is at `at` now: feet on the ground, 0.5 m from the
/// ball's surface along z. Kickers of one ball alternate sides (`nth`), except that one
/// whose ball has wandered more than 2 m from its spawn point stands on the spawn side,
/// away from the walls.
fn pose_text(h: &Home, at: [f64; 3], nth: usize) -> String {
    let towards_spawn = h.position[2] - at[2];
    let side = if towards_spawn.abs() > 2.0 {
        towards_spawn.signum()
    } else if nth.is_multiple_of(2) {
        1.0
    } else {
        -1.0
    };
    let (x, y, z) = (
        at[0],
        (at[1] - h.radius).max(0.0),
        at[2] + side * (h.radius + 0.5),
    );
    format!(r#"{{"type":"player","position":[{x:.3},{y:.3},{z:.3}]}}"#)
}

/// A kick of random magnitude in [impulse-min, impulse-max] that keeps the ball within
/// reach of kickers who never move. Its horizontal part aims at a random point within 1 m of
/// `home` (where the ball was when this client arrived; so the direction is random while the
/// ball is there) and is sized to roughly get it there: a ball slides about
/// impulse / (mass × linear damping) metres. Whatever the horizontal part does not use goes
/// straight up, so every kick still has the chosen magnitude.
fn kick_text(h: &Home, home: [f64; 3], at: [f64; 3], seq: u64, ctx: &Ctx, rng: &mut Rng) -> String {
    let (min, max) = (ctx.args.impulse_min, ctx.args.impulse_max);
    let magnitude = min + (max - min) * rng.unit();
    let (r, a) = (rng.unit().sqrt(), rng.unit() * std::f64::consts::TAU);
    let target = [home[0] + r * a.cos(), home[2] + r * a.sin()];
    let (dx, dz) = (target[0] - at[0], target[1] - at[2]);
    let distance = (dx * dx + dz * dz).sqrt().max(1e-6);
    let horizontal = (h.per_metre * distance).min(magnitude);
    let up = (magnitude * magnitude - horizontal * horizontal)
        .max(0.0)
        .sqrt();
    let (ix, iz) = (horizontal * dx / distance, horizontal * dz / distance);
    format!(
        r#"{{"type":"kick","ball":{},"impulse":[{ix:.3},{up:.3},{iz:.3}],"seq":{seq}}}"#,
        h.id
    )
}
