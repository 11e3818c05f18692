/**
 * Kick balls, with the physics on ballroom: three balls on one parcel, click one to kick
 * it, the other players' avatars shown where the server last saw them. One room per
 * realm, as the tutorial had (`/broadcast/<realm>`).
 *
 * The scene's systems drive the client (`client.update(dt)` every frame): no timers. The
 * client runs on the scene runtime's socket and clock as they are (see the client's
 * README, "In a Decentraland SDK7 scene").
 */
import {
  AvatarShape,
  engine,
  executeTask,
  InputAction,
  Material,
  MeshCollider,
  MeshRenderer,
  pointerEventsSystem,
  Transform,
  type Entity
} from '@dcl/sdk/ecs'
import { Color4 } from '@dcl/sdk/math'
import { getRealm } from '~system/Runtime'
import { BallroomClient, type RenderedPlayer } from 'ballroom-client'
import { KICK_LIFT, KICK_STRENGTH, POSE_RATE, SCENE, SERVER } from './config'

/** The room of a realm: `/broadcast/<realm name>`. */
export function roomUrl(server: string, realm: string): string {
  return `${server}/broadcast/${encodeURIComponent(realm)}`
}

export function main(): void {
  executeTask(async () => {
    const realm = (await getRealm({})).realmInfo?.realmName || 'localpreview'
    start(roomUrl(SERVER, realm))
  })
}

function start(url: string): void {
  const client = new BallroomClient({ url, scene: SCENE })
  const balls = new Map<number, Entity>()
  const avatars = new Map<number, Entity>()

  client.on('connected', (welcome) => {
    console.log(`ballroom: client ${welcome.client} in ${welcome.room}, ${welcome.encoding} snapshots`)
    for (const b of welcome.scene.balls) {
      if (balls.has(b.id)) continue // the same ids after a reconnect
      const e = engine.addEntity()
      const d = 2 * b.radius
      const [x, y, z] = b.position
      Transform.create(e, { position: { x, y, z }, scale: { x: d, y: d, z: d } })
      MeshRenderer.setSphere(e)
      MeshCollider.setSphere(e)
      Material.setPbrMaterial(e, { albedoColor: Color4.create(0.9, 0.4 + 0.2 * b.id, 0.1, 1) })
      pointerEventsSystem.onPointerDown(
        { entity: e, opts: { button: InputAction.IA_POINTER, hoverText: 'Kick' } },
        (event) => kick(b.id, event.hit?.position)
      )
      balls.set(b.id, e)
    }
  })
  client.on('reconnected', (e) => console.log(`ballroom: ${e.resumed ? 'resumed' : 'new session'}`))
  client.on('error', (e) => console.log(`ballroom: ${e.code}: ${e.message}`))
  client.connect()

  /** Kick ball `id` away from the player, at the point the pointer hit. */
  function kick(id: number, point?: { x: number; y: number; z: number }): void {
    const ball = client.balls().find((b) => b.id === id)
    if (!ball || !Transform.has(engine.PlayerEntity)) return
    const me = Transform.get(engine.PlayerEntity).position
    const dx = ball.position.x - me.x
    const dz = ball.position.z - me.z
    const flat = Math.hypot(dx, dz) || 1
    const impulse = { x: (dx / flat) * KICK_STRENGTH, y: KICK_LIFT, z: (dz / flat) * KICK_STRENGTH }
    client.kick(id, impulse, point ? { x: point.x, y: point.y, z: point.z } : undefined)
  }

  function showPlayers(players: readonly RenderedPlayer[]): void {
    const seen = new Set<number>()
    for (const p of players) {
      if (p.self) continue
      seen.add(p.client)
      let e = avatars.get(p.client)
      if (!e) {
        e = engine.addEntity()
        AvatarShape.create(e, { id: `ballroom-${p.client}`, name: `player ${p.client}`, wearables: [], emotes: [] })
        Transform.create(e, { position: p.position, rotation: p.rotation })
        avatars.set(p.client, e)
      }
      const t = Transform.getMutable(e)
      t.position = p.position
      t.rotation = p.rotation
    }
    for (const [id, e] of avatars) {
      if (seen.has(id)) continue
      engine.removeEntity(e)
      avatars.delete(id)
    }
  }

  let poseIn = 0
  engine.addSystem((dt) => {
    client.update(dt)
    for (const ball of client.balls()) {
      const e = balls.get(ball.id)
      if (!e) continue
      const t = Transform.getMutable(e)
      t.position = ball.position
      t.rotation = ball.rotation
    }
    showPlayers(client.players())
    poseIn -= dt
    if (poseIn <= 0 && client.state === 'open' && Transform.has(engine.PlayerEntity)) {
      poseIn = 1 / POSE_RATE
      const me = Transform.get(engine.PlayerEntity)
      client.sendPose(me.position, me.rotation)
    }
  })
}
