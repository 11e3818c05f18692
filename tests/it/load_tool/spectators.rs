//! `ballroom-load --spectators`: a room of players with a crowd watching, in each encoding
//! (a binary spectator reads only its frames' headers).

use std::time::Duration;

use super::{num, run_async, summary};
use crate::support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spectators_count_their_snapshots_and_the_tool_its_cpu() {
    let server = support::start(support::config()).await;
    let addr = server.addr.to_string();
    let run = |encoding: &'static str| {
        let prefix = format!("watch-{encoding}-");
        let addr = addr.clone();
        async move {
            let args = [
                "--addr",
                &addr,
                "--clients",
                "4",
                "--spectators",
                "6",
                "--rooms",
                "1",
                "--duration",
                "3",
                "--warmup",
                "1",
                "--kick-interval",
                "0.5",
                "--encoding",
                encoding,
                "--room-prefix",
                &prefix,
            ];
            run_async(&args, Duration::from_secs(40)).await
        }
    };
    let (binary, json) = tokio::join!(run("binary"), run("json"));
    for (encoding, out) in [("binary", binary), ("json", json)] {
        let s = summary(&out);
        assert_eq!(s["params"]["spectators"], 6, "{s:#}");
        // The players' sections count the players only.
        assert_eq!(s["connections"]["attempted"], 4, "{s:#}");
        assert_eq!(s["connections"]["welcomed"], 4, "{s:#}");
        assert!(num(&s["kicks"]["acked"]) > 0.0, "{s:#}");

        let w = &s["spectators"];
        assert_eq!(w["count"], 6, "{encoding}: {s:#}");
        assert_eq!(w["connections"]["connected"], 6, "{encoding}: {s:#}");
        assert_eq!(w["connections"]["welcomed"], 6, "{encoding}: {s:#}");
        assert_eq!(w["connections"]["ended_early"], 0, "{encoding}: {s:#}");
        let snaps = &w["snapshots"];
        // 20 a second while the balls move, to 6 spectators, for 3 s.
        assert!(num(&snaps["received"]) > 100.0, "{encoding}: {s:#}");
        assert_eq!(snaps["missed"], 0, "{encoding}: {s:#}");
        assert_eq!(snaps["clients_with_gaps"], 0, "{encoding}: {s:#}");
        assert!(num(&snaps["jitter_ms"]["p50"]) >= 0.0, "{encoding}: {s:#}");
        assert!(num(&snaps["max_gap_ms"]) > 0.0, "{encoding}: {s:#}");
        assert!(num(&w["bytes_per_spectator_per_s"]["mean"]) > 0.0, "{s:#}");

        let own = &s["load_tool"];
        assert!(num(&own["cpu_seconds"]) >= 0.0, "{s:#}");
        assert!(num(&own["cores"]) >= 0.0, "{s:#}");
        assert!(out.stderr.contains("spectators 6/6"), "{}", out.stderr);
    }
    server.stop().await;
}

#[tokio::test]
async fn spectators_are_refused_outside_physics_mode() {
    let out = run_async(
        &[
            "--mode",
            "relay",
            "--clients",
            "2",
            "--rooms",
            "1",
            "--spectators",
            "2",
        ],
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("--spectators is for physics mode only"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.trim().is_empty(), "{}", out.stdout);
}
