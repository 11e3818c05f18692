//! [`Quantizer`]: [`quantize`] for a stream of one room's snapshots, reusing what did not
//! change. A room's players send poses a few times a second and its balls mostly rest, so
//! most bodies of a snapshot are bit for bit those of the one before: comparing their
//! floats costs a fraction of quantizing them again. The result is always exactly what
//! [`quantize`] gives (a test checks it on real rooms).

use std::sync::Arc;

use super::params::Params;
use super::quantize::{
    QBall, QPlayer, QuantizeError, QuantizedSnapshot, check_balls, quantize_ball, quantize_player,
};
use crate::room::{BallState, PlayerState, Snapshot};

#[cfg(doc)]
use super::quantize::quantize;

/// Quantizes one room's snapshots in order, remembering the last input and output of
/// every ball and player. One per room, owned by whoever makes the room's snapshots.
#[derive(Clone, Debug)]
pub struct Quantizer {
    params: Arc<Params>,
    /// The last quantized ball per index of [`Params::balls`], with its input.
    balls: Vec<(BallState, QBall)>,
    /// The last snapshot's players, ascending by client id, with their inputs.
    players: Vec<(PlayerState, QPlayer)>,
}

impl Quantizer {
    pub fn new(params: Arc<Params>) -> Quantizer {
        Quantizer {
            params,
            balls: Vec::new(),
            players: Vec::new(),
        }
    }

    pub fn params(&self) -> &Arc<Params> {
        &self.params
    }

    /// [`quantize`] of `snapshot`, taking unchanged bodies from the previous call.
    pub fn quantize(&mut self, snapshot: &Snapshot) -> Result<QuantizedSnapshot, QuantizeError> {
        let params = &*self.params;
        check_balls(params, snapshot)?;
        self.balls.truncate(snapshot.balls.len());
        let mut balls = Vec::with_capacity(snapshot.balls.len());
        for (i, b) in snapshot.balls.iter().enumerate() {
            match self.balls.get_mut(i) {
                Some((input, q)) if input == b => balls.push(*q),
                Some(slot) => {
                    *slot = (b.clone(), quantize_ball(params, b));
                    balls.push(slot.1);
                }
                None => {
                    let q = quantize_ball(params, b);
                    self.balls.push((b.clone(), q));
                    balls.push(q);
                }
            }
        }

        let mut players: Vec<QPlayer> = Vec::with_capacity(snapshot.players.len());
        let mut remembered = Vec::with_capacity(snapshot.players.len());
        let mut previous = self.players.iter().peekable();
        for p in &snapshot.players {
            // Both lists ascend by id (a snapshot's usually do): one merge walk.
            while previous.next_if(|(old, _)| old.client < p.client).is_some() {}
            let q = match previous.peek() {
                Some((old, q)) if old == p => *q,
                _ => quantize_player(params, p),
            };
            players.push(q);
            remembered.push((p.clone(), q));
        }
        if !players.is_sorted_by_key(|p| p.client) {
            // Not a room's snapshot: sort as `quantize` does, and remember nothing.
            players.sort_by_key(|p| p.client);
            remembered.clear();
        }
        players.dedup_by_key(|p| p.client);
        self.players = remembered;
        Ok(QuantizedSnapshot {
            tick: snapshot.tick,
            balls,
            players,
            acks: snapshot.acks.clone(),
        })
    }
}
