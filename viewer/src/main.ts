/**
 * The viewer's entry point: `?room=<name>` shows that room, anything else the room list;
 * the operator panel is on both. Everything is built with the DOM (no markup strings), and
 * every URL is relative to the page (see urls.ts).
 */
import { el } from "./dom.js";
import { expose } from "./hooks.js";
import { operatorPanel } from "./operator.js";
import { RoomView } from "./room.js";
import { roomList } from "./rooms.js";
import { pageRoute } from "./urls.js";

function main(): void {
  const app = document.getElementById("app");
  if (!app) throw new Error("the page has no #app element");
  const route = pageRoute(location.search);
  const operator = operatorPanel(route.room === null, route.token);
  const header = el("header", { class: "top" }, [
    el("a", { class: "brand", text: "ballroom", attrs: { href: "./" } }),
    el("span", { class: "muted", text: " live rooms" }),
  ]);

  if (route.room === null) {
    const list = roomList(route.token);
    app.replaceChildren(header, el("main", { class: "list-page" }, [list.node, operator.node]));
    expose({
      view: "rooms",
      webgl: false,
      rooms: () => list.rows(),
      room: null,
      mode: () => null,
      clientId: () => null,
      connection: () => null,
      balls: () => [],
      players: () => [],
      stats: () => null,
      match: () => null,
      player: () => null,
      lastKick: () => null,
      screenPositionOfBall: () => null,
      project: () => null,
      reachShortfall: () => null,
      operator: () => operator.last(),
      models: () => null,
    });
    return;
  }

  document.title = `ballroom · ${route.room}`;
  const room = new RoomView(route.room, route.scene, route.token);
  app.replaceChildren(room.node, el("aside", { class: "operator-dock" }, [operator.node]));
  room.connect("watch");
  expose({
    view: "room",
    webgl: room.webgl,
    rooms: () => [],
    room: route.room,
    mode: () => room.mode,
    clientId: () => room.client?.id ?? null,
    connection: () => room.client?.state ?? null,
    balls: () => (room.client?.balls() ?? []).map((b) => ({ id: b.id, position: { ...b.position }, time: b.time, predicted: b.predicted })),
    players: () => (room.client?.players() ?? []).map((p) => ({ client: p.client, position: { ...p.position }, team: p.team, self: p.self })),
    stats: () => (room.client ? { ...room.client.stats } : null),
    match: () => room.client?.match ?? null,
    player: () => (room.walker ? { ...room.walker.position } : null),
    lastKick: () => room.lastKick,
    screenPositionOfBall: (id) => room.screenPositionOfBall(id),
    project: (p) => room.view?.project(p) ?? null,
    reachShortfall: (id) => room.reachShortfall(id),
    operator: () => operator.last(),
    models: () => (room.view?.models ? { drawn: room.view.models.drawn, failed: [...room.view.models.failed] } : null),
  });
}

main();
