/**
 * Where the ballroom server is. A deployed scene may only open `wss://` sockets; in the
 * local preview (`npm start`) `ws://127.0.0.1:8080` works too.
 */
export const SERVER = 'wss://ballroom.example.com'

/** The server's scene (`assets/scenes/kickballs.json` in the ballroom repository). */
export const SCENE = 'kickballs'

/** The kick: this many N·s along the line from the player to the ball, plus a lift. */
export const KICK_STRENGTH = 40
export const KICK_LIFT = 15

/** How often the player's own pose goes to the server, per second. */
export const POSE_RATE = 10
