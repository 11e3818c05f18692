//! Kicks judged where the kicker's client showed the ball (`seen_at`), over real
//! WebSocket connections: the honest late kick passes, the claim of a ball that left
//! reach more than 500 ms ago does not; and kicks land on the tick they name (`tick`).

use crate::support::{config, start};
use serde_json::{Value, json};

fn tick(m: &Value) -> u64 {
    m["tick"].as_u64().unwrap()
}

#[tokio::test]
async fn a_late_kick_is_judged_where_the_kickers_client_showed_the_ball() {
    let server = start(config()).await;
    let (mut player, _) = server.protocol("/lag?scene=kickballs").await;
    let (mut other, _) = server.protocol("/lag").await;
    // The player stands 2 m from ball 1's surface (the ball rests at 8, 1, 8; reach 2.5 m).
    player
        .send_json(json!({"type":"player","position":[8, 0, 11]}))
        .await;
    other.recv_type("player").await;
    // Another client (no position: kickballs does not ask for one) sends ball 1 away from
    // the player at 6 m/s.
    other
        .send_json(json!({"type":"kick","ball":1,"impulse":[0, 0, -30],"seq":1}))
        .await;
    let kicked = tick(&player.recv_type("kick").await);
    // The player's client showed the ball on the kick's tick: within reach.
    let seen_at = kicked as f64 / 60.0;
    // 250 ms later the ball is out of reach.
    player
        .recv_until(|m| m["type"] == "snapshot" && tick(m) >= kicked + 15)
        .await;

    let tap = |seq: u64, seen_at: Option<f64>| {
        let mut k = json!({"type":"kick","ball":1,"impulse":[0, 0, -5],"seq":seq});
        if let Some(t) = seen_at {
            k["seen_at"] = json!(t);
        }
        k
    };
    let answer = |m: &Value| m["type"] == "error" || m["type"] == "kick";
    // Judged where the ball is now: too far.
    player.send_json(tap(2, None)).await;
    let a = player.recv_until(answer).await;
    assert_eq!(
        (a["type"].as_str(), a["code"].as_str()),
        (Some("error"), Some("too_far"))
    );
    assert_eq!(a["seq"], 2);
    // Judged where the player saw it: applied.
    player.send_json(tap(3, Some(seen_at))).await;
    let a = player.recv_until(answer).await;
    assert_eq!(
        (a["type"].as_str(), a["seq"].as_u64()),
        (Some("kick"), Some(3)),
        "{a}"
    );

    // 750 ms after the first kick the ball has been out of reach for longer than the
    // server looks back: the same claim is refused.
    player
        .recv_until(|m| m["type"] == "snapshot" && tick(m) >= kicked + 45)
        .await;
    player.send_json(tap(4, Some(seen_at))).await;
    let a = player.recv_until(answer).await;
    assert_eq!(
        (a["type"].as_str(), a["code"].as_str()),
        (Some("error"), Some("too_far")),
        "{a}"
    );
    server.stop().await;
}

/// A kick naming a later tick (the tick its client's prediction applied it on) lands on
/// that tick, and the snapshot of that tick acknowledges it; one naming a tick already
/// run lands on the next.
#[tokio::test]
async fn a_kick_lands_on_the_tick_it_names() {
    let server = start(config()).await;
    let (mut player, welcome) = server.protocol("/on-tick?scene=kickballs").await;
    let client = welcome["client"].as_u64().unwrap();
    player.send_json(json!({"type":"state"})).await;
    let now = tick(&player.recv_type("snapshot").await);
    let wanted = now + 12;
    player
        .send_json(json!({"type":"kick","ball":0,"impulse":[0, 20, 0],"seq":1,"tick":wanted}))
        .await;
    let k = player.recv_type("kick").await;
    assert_eq!((tick(&k), k["seq"].as_u64()), (wanted, Some(1)), "{k}");
    let s = player
        .recv_until(|m| m["type"] == "snapshot" && tick(m) >= wanted)
        .await;
    assert_eq!(tick(&s), wanted, "a kick's tick has its snapshot");
    assert_eq!(s["acks"][client.to_string()], 1, "{s}");

    player
        .send_json(json!({"type":"kick","ball":1,"impulse":[0, 20, 0],"seq":2,"tick":1}))
        .await;
    let k = player.recv_type("kick").await;
    assert_eq!(k["seq"], 2);
    assert!(tick(&k) > wanted, "{k}");
    server.stop().await;
}
