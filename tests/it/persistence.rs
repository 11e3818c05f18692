//! `--state-dir`: a restart loses no room. A match played to a score, stopped the way
//! SIGTERM stops the server, started again on the same directory: clients that come back
//! with their resume tokens find the same score, clock and balls. Then the real binary:
//! SIGTERM, restart, resume; and an unreadable file, moved aside without stopping the start.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{self, Client, ball, config, protocol_at, scene_assets, start, vec3};

const LONG: Duration = Duration::from_secs(60);

/// A fresh, empty state directory of this test's own.
fn state_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ballroom-state-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(suffix))
        .collect();
    found.sort();
    found
}

fn token(welcome: &Value) -> String {
    welcome["resume"]
        .as_str()
        .expect("welcome.resume")
        .to_owned()
}

/// The first snapshot in which ball 0 has come to rest away from where it was.
async fn at_rest_away_from(c: &mut Client, from: [f64; 3]) -> Value {
    c.recv_until_within(LONG, |m| {
        if m["type"] != "snapshot" {
            return false;
        }
        let b = ball(m, 0);
        let p = vec3(&b["p"]);
        b["sleeping"] == true && (p[0] - from[0]).hypot(p[2] - from[2]) > 0.5
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn a_match_comes_back_after_a_restart_with_its_score_clock_and_balls() {
    let dir = state_dir("match");
    let assets = scene_assets("football", "longball", |s| {
        s["rules_options"]["duration"] = json!(120);
        s["rules_options"]["goalPause"] = json!(1);
    });
    let cfg = || {
        let mut c = config();
        c.assets = Some(assets.clone());
        c.state_dir = Some(dir.clone());
        // Paused time races ahead while clients sit unpolled (see matches.rs).
        c.ping_interval = Duration::from_secs(3600);
        c.idle_timeout = Duration::from_secs(7200);
        c
    };

    let server = start(cfg()).await;
    let (mut blue, wb) = server.protocol("/pitch?scene=longball").await;
    let (mut red, wr) = server.protocol("/pitch").await;
    let (blue_id, red_id) = (wb["client"].clone(), wr["client"].clone());
    for (c, team) in [(&mut blue, "blue"), (&mut red, "red")] {
        c.send_json(json!({"type":"join_team","team":team})).await;
    }
    blue.recv_until_within(LONG, |m| {
        m["type"] == "rules_state" && m["state"]["phase"] == "playing"
    })
    .await;
    // Red scores; after the goal's pause the ball is back at the centre, blue's kick-off.
    red.send_json(json!({"type":"player","position":[0.9,0,0]}))
        .await;
    red.send_json(json!({"type":"kick","ball":0,"impulse":[-25,0,0]}))
        .await;
    let goal = blue
        .recv_until_within(LONG, |m| m["type"] == "message" && m["name"] == "goal")
        .await;
    assert_eq!(goal["data"]["score"], json!({"blue":0,"red":1}));
    blue.recv_until_within(LONG, |m| {
        m["type"] == "rules_state" && m["state"]["kickoff"] == "blue"
    })
    .await;
    // Blue kicks off; the ball rolls away and settles somewhere that is not its spawn.
    blue.send_json(json!({"type":"player","position":[-0.9,0,0]}))
        .await;
    blue.send_json(json!({"type":"kick","ball":0,"impulse":[4,0,3],"seq":1}))
        .await;
    let settled = at_rest_away_from(&mut blue, [0.0, 0.0, 0.0]).await;
    let ball_before = ball(&settled, 0).clone();
    // Red's connection drops: the match pauses, its clock stopped where it is now.
    drop(red);
    let paused = blue
        .recv_until_within(LONG, |m| {
            m["type"] == "rules_state" && m["state"]["phase"] == "paused"
        })
        .await["state"]
        .clone();
    assert_eq!(paused["score"], json!({"blue":0,"red":1}));
    let seconds_left = paused["secondsLeft"].as_f64().unwrap();
    assert!(seconds_left > 0.0 && seconds_left < 120.0, "{paused}");

    // Stop as SIGTERM does: the room is written, one file.
    server.stop().await;
    drop(blue);
    assert_eq!(files(&dir, ".room").len(), 1, "one room file");

    // Rooms are restored before the first connection is accepted.
    let server = start(cfg()).await;
    let rooms: Value = serde_json::from_str(&server.get("/rooms").await.1).unwrap();
    assert_eq!(rooms[0]["room"], "/pitch", "{rooms}");
    assert!(
        files(&dir, ".room").is_empty(),
        "a restored room's file is taken"
    );
    let (mut blue, welcome) = server
        .protocol(&format!("/pitch?resume={}", token(&wb)))
        .await;
    assert_eq!(
        (&welcome["resumed"], &welcome["client"]),
        (&json!(true), &blue_id)
    );
    let state = &welcome["rules_state"];
    assert_eq!(state["score"], json!({"blue":0,"red":1}));
    assert_eq!(state["phase"], "paused");
    assert_eq!(state["secondsLeft"].as_f64().unwrap(), seconds_left);
    assert!(
        welcome["tick"].as_u64() >= settled["tick"].as_u64(),
        "{welcome}"
    );
    let snapshot = blue.recv_type("snapshot").await;
    assert_eq!(
        ball(&snapshot, 0),
        &ball_before,
        "the ball is where it came to rest"
    );
    assert_eq!(
        snapshot["acks"][blue_id.to_string()],
        1,
        "blue's kick stays acknowledged"
    );

    // Red comes back too: on its team again, and the match resumes from its clock.
    let (_red, welcome) = server
        .protocol(&format!("/pitch?resume={}", token(&wr)))
        .await;
    assert_eq!(
        (&welcome["resumed"], &welcome["client"]),
        (&json!(true), &red_id)
    );
    let resumed = blue
        .recv_until_within(LONG, |m| {
            m["type"] == "rules_state" && m["state"]["phase"] == "countdown"
        })
        .await["state"]
        .clone();
    assert_eq!(resumed["teams"], json!({"blue":[blue_id],"red":[red_id]}));
    assert_eq!(resumed["score"], json!({"blue":0,"red":1}));
    assert_eq!(resumed["secondsLeft"].as_f64().unwrap(), seconds_left);
    server.stop().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

async fn metric(addr: &str, series: &str) -> Option<f64> {
    let (_, _, body) = support::http_request(addr.parse().unwrap(), "GET", "/metrics", "").await;
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

#[cfg(unix)]
#[tokio::test]
async fn the_binary_keeps_its_rooms_across_sigterm_and_moves_a_bad_file_aside() {
    let dir = state_dir("binary");
    let args = ["--state-dir", dir.to_str().unwrap()];
    let mut server = support::ServerProcess::start(&args);
    let (mut kicker, welcome) =
        protocol_at(server.addr.parse().unwrap(), "/yard?scene=kickballs").await;
    let me = welcome["client"].clone();
    let first = kicker.recv_type("snapshot").await;
    let start = vec3(&ball(&first, 0)["p"]);
    kicker
        .send_json(json!({"type":"player","position":[start[0], 0.0, start[2] + 1.0]}))
        .await;
    kicker
        .send_json(json!({"type":"kick","ball":0,"impulse":[6,2,-6],"seq":9}))
        .await;
    let settled = at_rest_away_from(&mut kicker, start).await;

    server.signal("TERM");
    let status = server.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "exit status {status}");
    drop(kicker);
    assert_eq!(files(&dir, ".room").len(), 1);
    std::fs::write(dir.join("torn.room"), b"ballroom\x01\x00 half a record").unwrap();

    let server = support::ServerProcess::start(&args);
    let path = format!("/yard?resume={}", token(&welcome));
    let (mut kicker, welcome) = protocol_at(server.addr.parse().unwrap(), &path).await;
    assert_eq!(
        (&welcome["resumed"], &welcome["client"]),
        (&json!(true), &me)
    );
    let snapshot = kicker.recv_type("snapshot").await;
    assert_eq!(ball(&snapshot, 0), ball(&settled, 0));
    assert_eq!(snapshot["acks"][me.to_string()], 9);
    // The torn file was reported, moved aside, and did not stop the start.
    assert_eq!(files(&dir, "torn.room.bad-").len(), 1);
    assert!(
        files(&dir, ".room")
            .iter()
            .all(|p| p.to_string_lossy().contains(".bad-"))
    );
    let series = "ballroom_rooms_restored_total{result=\"";
    assert_eq!(
        metric(&server.addr, &format!("{series}ok\"}}")).await,
        Some(1.0)
    );
    assert_eq!(
        metric(&server.addr, &format!("{series}bad\"}}")).await,
        Some(1.0)
    );
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}
