//! Resuming a session with the `welcome`'s token, and spectators.

use serde_json::{Value, json};

use crate::support::{Client, Server, config, start};
use ballroom::auth::{Secret, mint};

/// A protocol client on `path` (query included), after its `welcome`.
async fn join(server: &Server, path: &str) -> (Client, Value) {
    let mut c = server.connect(path, None).await;
    let welcome = c.recv_type("welcome").await;
    (c, welcome)
}

fn token_of(welcome: &Value) -> String {
    let token = welcome["resume"]
        .as_str()
        .expect("welcome.resume")
        .to_owned();
    assert!(token.len() >= 22, "128 bits at least: {token}");
    token
}

#[tokio::test]
async fn a_resumed_client_keeps_its_id_team_acks_and_pose() {
    let server = start(config()).await;
    let (mut blue, welcome) = join(&server, "/pitch?scene=football").await;
    let id = welcome["client"].as_u64().unwrap();
    assert_eq!(welcome["resumed"], false);
    let token = token_of(&welcome);
    // A second client watches; it joins no team, so the match waits (and allows
    // warm-up kicks) throughout.
    let (mut other, _) = join(&server, "/pitch?scene=football").await;
    blue.send_json(json!({"type":"join_team","team":"blue"}))
        .await;
    blue.send_json(json!({"type":"player","position":[0.0, 0.0, 1.5],"rotation":[0,0.6,0,0.8]}))
        .await;
    blue.send_json(json!({"type":"kick","ball":0,"impulse":[0,0,-1],"seq":5}))
        .await;
    blue.recv_until(|v| v["type"] == "snapshot" && v["acks"][id.to_string()] == 5)
        .await;

    drop(blue); // the socket goes away without a close frame
    let left = other.recv_type("left").await;
    assert_eq!(left["client"], id);

    let path = format!("/pitch?scene=football&resume={token}");
    let (mut again, welcome) = join(&server, &path).await;
    assert_eq!(welcome["client"], id, "same client id");
    assert_eq!(welcome["resumed"], true);
    let fresh = token_of(&welcome);
    assert_ne!(fresh, token, "a token serves one session");
    // The others see the same client come back, on its team and where it stood.
    assert_eq!(other.recv_type("joined").await["client"], id);
    // (Its pose is restored before its rules hear it is back: `player`, then `rules_state`.)
    let pose = other.recv_type("player").await;
    let state = other
        .recv_until(|v| v["type"] == "rules_state" && v["state"]["teams"]["blue"] == json!([id]))
        .await;
    assert_eq!(state["state"]["phase"], "waiting");
    assert_eq!(
        (pose["client"].clone(), pose["position"].clone()),
        (json!(id), json!([0.0, 0.0, 1.5]))
    );
    // Its kick acknowledgements carry on, and its restored position lets it kick
    // (football refuses kicks from clients without one).
    let snap = again.recv_type("snapshot").await;
    assert_eq!(snap["acks"][id.to_string()], 5, "{snap}");
    again
        .send_json(json!({"type":"kick","ball":0,"impulse":[0,0,-1],"seq":6}))
        .await;
    again
        .recv_until(|v| v["type"] == "snapshot" && v["acks"][id.to_string()] == 6)
        .await;

    // The old token is spent: it starts a fresh session.
    let (_, third) = join(&server, &format!("/pitch?scene=football&resume={token}")).await;
    assert_eq!(third["resumed"], false);
    assert_ne!(third["client"], id);
}

#[tokio::test]
async fn an_unknown_token_is_a_fresh_session_and_an_open_one_is_taken_over() {
    let server = start(config()).await;
    let (_, welcome) = join(&server, "/r?scene=kickballs&resume=not-a-token").await;
    assert_eq!(welcome["resumed"], false);

    let (mut first, welcome) = join(&server, "/r?scene=kickballs").await;
    let id = welcome["client"].clone();
    let token = token_of(&welcome);
    let (_second, welcome) = join(&server, &format!("/r?scene=kickballs&resume={token}")).await;
    assert_eq!(
        (welcome["client"].clone(), welcome["resumed"].clone()),
        (id, json!(true))
    );
    let close = first.expect_close().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1008);
    assert_eq!(
        close.reason.as_str(),
        "session resumed on another connection"
    );
}

#[tokio::test]
async fn with_tokens_only_the_same_player_resumes() {
    let secret = "scene-backend-shared-secret";
    let mut cfg = config();
    cfg.auth_secret = Some(secret.parse().unwrap());
    let server = start(cfg).await;
    let jwt = |sub: &str| {
        let exp = ballroom::auth::now() + 3600;
        let claims = format!(r#"{{"sub":"{sub}","room":"*","exp":{exp}}}"#);
        mint(&secret.parse::<Secret>().unwrap(), &claims)
    };
    let (alice, welcome) = join(
        &server,
        &format!("/r?scene=kickballs&token={}", jwt("alice")),
    )
    .await;
    let id = welcome["client"].clone();
    let token = token_of(&welcome);
    drop(alice);
    let path = |sub: &str| format!("/r?scene=kickballs&token={}&resume={token}", jwt(sub));
    let (_, mallory) = join(&server, &path("mallory")).await;
    assert_eq!(mallory["resumed"], false);
    assert_ne!(mallory["client"], id);
    let (_, alice) = join(&server, &path("alice")).await;
    assert_eq!(
        (alice["client"].clone(), alice["resumed"].clone()),
        (id, json!(true))
    );
}

#[tokio::test]
async fn a_spectator_watches_but_cannot_play_and_is_not_listed() {
    let server = start(config()).await;
    let (mut player, welcome) = join(&server, "/stand?scene=football").await;
    let player_id = welcome["client"].clone();
    let (mut watcher, welcome) = join(&server, "/stand?spectate=1").await;
    assert_eq!(welcome["spectator"], true);
    assert_eq!(
        welcome["clients"],
        json!([player_id]),
        "spectators are not players"
    );
    assert_eq!(welcome["scene"]["name"], "football");
    for (command, seq) in [
        (
            json!({"type":"kick","ball":0,"impulse":[0,0,1],"seq":3}),
            json!(3),
        ),
        (json!({"type":"join_team","team":"red"}), Value::Null),
        (json!({"type":"player","position":[1,0,1]}), Value::Null),
    ] {
        watcher.send_json(command).await;
        let error = watcher.recv_type("error").await;
        assert_eq!(error["code"], "spectating");
        assert_eq!(error["seq"], seq);
    }
    // It receives everything: the player's moves and the room's snapshots.
    player
        .send_json(json!({"type":"join_team","team":"blue"}))
        .await;
    // (A state the rules set before the player chose, at its join, may come first: what
    // rules say goes out with the next tick.)
    let state = watcher
        .recv_until(|v| v["type"] == "rules_state" && v["state"]["teams"]["blue"] != json!([]))
        .await;
    assert_eq!(state["state"]["teams"]["blue"], json!([player_id]));
    watcher.recv_type("snapshot").await;
    // Nobody was told a spectator joined or left.
    drop(watcher);
    let (_, late) = join(&server, "/stand?protocol=json").await;
    assert_eq!(late["clients"].as_array().unwrap().len(), 2);
    let seen = player.collect(std::time::Duration::from_millis(300)).await;
    assert!(
        seen.iter().all(|m| !m
            .to_text()
            .unwrap_or("")
            .contains("\"joined\",\"client\":2")),
        "{seen:?}"
    );
}
