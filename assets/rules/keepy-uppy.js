// Keepy-uppy: your ball is the last ball you kicked. Every kick of it while it is still in
// the air scores a touch; when it lands, your run is over. The state shows each player's
// current run and best (`room.state.players[id]`).

export const tickRate = 10;

const GROUND = 0.35; // m: a ball (radius 0.25 m in keepy-uppy.json) whose centre is lower is down
const GRACE = 0.3; // s after a kick before a low ball counts as landed (it starts low)

export default {
  onStart(room) {
    if (room.state === null) room.setState({ players: {} });
  },

  onKick(room, kick) {
    const s = room.state ?? { players: {} };
    const p = (s.players[kick.client] ??= { ball: kick.ball, touches: 0, best: 0, at: 0 });
    if (p.ball !== kick.ball) p.touches = 0; // a new ball starts a new run
    p.ball = kick.ball;
    p.touches += 1;
    p.best = Math.max(p.best, p.touches);
    p.at = room.time;
    room.setState(s);
  },

  onTick(room) {
    const s = room.state;
    if (s === null) return;
    const balls = new Map(room.balls().map((b) => [b.id, b]));
    let landed = false;
    for (const p of Object.values(s.players)) {
      const ball = balls.get(p.ball);
      if (p.touches > 0 && ball && ball.position[1] < GROUND && room.time - p.at > GRACE) {
        p.touches = 0;
        landed = true;
      }
    }
    if (landed) room.setState(s);
  },

  onLeave(room, client) {
    const s = room.state;
    if (s === null || !(client.id in s.players)) return;
    delete s.players[client.id];
    room.setState(s);
  },
};
