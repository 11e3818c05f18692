//! Building a room's rapier world from its scene, and the small physics helpers the room
//! uses on it.

use std::sync::Mutex;

use rapier3d::prelude::*;

use crate::ids::BallId;
use crate::scene::{Ball, BodyShape, Geometry, Scene, Shape as SceneShape};

/// One ball of the scene and its rapier handles.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct BallBody {
    pub id: BallId,
    pub handle: RigidBodyHandle,
    pub collider: ColliderHandle,
    pub radius: f32,
    pub spawn: Vector,
}

/// The world of a scene: statics (sensors among them) and balls (sorted by id).
pub(super) struct BuiltWorld {
    pub world: PhysicsWorld,
    pub balls: Vec<BallBody>,
}

pub(super) fn build(scene: &Scene, tick_rate: f64) -> BuiltWorld {
    let mut world = PhysicsWorld {
        gravity: Vector::from_array(scene.gravity),
        ..PhysicsWorld::default()
    };
    world.integration_parameters.dt = (1.0 / tick_rate) as f32;
    world.integration_parameters.num_solver_iterations = scene.solver_iterations as usize;

    // A sensor's `user_data` is 1 + its place in `Scene::sensor_names` (the same order as
    // here), which travels with the world when a room is saved.
    // A sensor reports collisions and is numbered; any other collider is left as it is.
    let mut sensors = 0u128;
    let mut as_sensor = |collider: ColliderBuilder, sensor: bool| {
        if !sensor {
            return collider;
        }
        sensors += 1;
        collider
            .active_events(ActiveEvents::COLLISION_EVENTS)
            .user_data(sensors)
    };
    for s in &scene.statics {
        let pose = Pose::from_parts(
            Vector::from_array(s.position),
            Rotation::from_array(s.rotation).normalize(),
        );
        let collider = shape_builder(&s.shape)
            .position(pose)
            .sensor(s.sensor)
            .friction(s.friction)
            .restitution(s.restitution);
        let collider = as_sensor(collider, s.sensor);
        world.insert_collider(collider, None);
    }

    // The models' colliders: their shapes are the scene's, shared (an `Arc`) by its rooms.
    for c in scene.geometry.colliders.iter() {
        let collider = ColliderBuilder::new(c.shape.clone())
            .sensor(c.sensor)
            .friction(c.friction)
            .restitution(c.restitution);
        let collider = as_sensor(collider, c.sensor);
        world.insert_collider(collider, None);
    }

    let mut balls: Vec<BallBody> = scene
        .balls
        .iter()
        .map(|b| {
            let spawn = Vector::from_array(b.position);
            let body = RigidBodyBuilder::dynamic()
                .translation(spawn)
                .linear_damping(b.linear_damping)
                .angular_damping(b.angular_damping)
                .ccd_enabled(true);
            let collider = body_collider(b, &scene.geometry)
                .mass(b.mass)
                .friction(b.friction)
                .restitution(b.restitution);
            let (handle, collider) = world.insert(body, collider);
            BallBody {
                id: b.id,
                handle,
                collider,
                radius: b.radius,
                spawn,
            }
        })
        .collect();
    balls.sort_by_key(|b| b.id);
    BuiltWorld { world, balls }
}

/// A ball's collider: its `shape` (a hull shared with the scene's other rooms), or a ball
/// of its radius. (A hull the geometry lacks, which a loaded scene never has, becomes the
/// ball of its bounding radius rather than a panic.)
fn body_collider(b: &Ball, geometry: &Geometry) -> ColliderBuilder {
    match b.shape {
        Some(BodyShape::Cuboid {
            half_extents: [x, y, z],
        }) => ColliderBuilder::cuboid(x, y, z),
        Some(BodyShape::Capsule {
            half_height,
            radius,
        }) => ColliderBuilder::capsule_y(half_height, radius),
        Some(BodyShape::Cylinder {
            half_height,
            radius,
        }) => ColliderBuilder::cylinder(half_height, radius),
        Some(BodyShape::ConvexHull { .. }) => match geometry.hulls.get(&b.id) {
            Some(hull) => ColliderBuilder::new(hull.clone()),
            None => ColliderBuilder::ball(b.radius),
        },
        Some(BodyShape::Ball { radius }) => ColliderBuilder::ball(radius),
        None => ColliderBuilder::ball(b.radius),
    }
}

fn shape_builder(shape: &SceneShape) -> ColliderBuilder {
    match *shape {
        SceneShape::Cuboid {
            half_extents: [x, y, z],
        } => ColliderBuilder::cuboid(x, y, z),
        SceneShape::Ball { radius } => ColliderBuilder::ball(radius),
        SceneShape::Capsule {
            half_height,
            radius,
        } => ColliderBuilder::capsule_y(half_height, radius),
        SceneShape::Cylinder {
            half_height,
            radius,
        } => ColliderBuilder::cylinder(half_height, radius),
    }
}

/// Collects rapier's collision events during a step.
#[derive(Default)]
pub(super) struct CollisionLog(Mutex<Vec<CollisionEvent>>);

impl CollisionLog {
    /// The events of the last step, leaving the log empty.
    pub fn take(&self) -> Vec<CollisionEvent> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl EventHandler for CollisionLog {
    fn handle_collision_event(
        &self,
        _bodies: &RigidBodySet,
        _colliders: &ColliderSet,
        event: CollisionEvent,
        _contact_pair: Option<&ContactPair>,
    ) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(event);
    }

    fn handle_contact_force_event(
        &self,
        _dt: Real,
        _bodies: &RigidBodySet,
        _colliders: &ColliderSet,
        _contact_pair: &ContactPair,
        _total_force_magnitude: Real,
    ) {
    }

    fn handle_soft_body_tear_event(&self, _soft_bodies: &SoftBodySet, _event: &SoftBodyTearEvent) {}
}

/// Put a body at `at`, upright and still.
pub(super) fn place(body: &mut RigidBody, at: Vector) {
    body.set_translation(at, true);
    body.set_rotation(Rotation::IDENTITY, true);
    body.set_linvel(Vector::ZERO, true);
    body.set_angvel(Vector::ZERO, true);
}

/// Distance from `p` to the segment `a`–`b`.
pub(super) fn distance_to_segment(p: Vector, a: Vector, b: Vector) -> f32 {
    let ab = b - a;
    let t = ((p - a).dot(ab) / ab.length_squared()).clamp(0.0, 1.0);
    p.distance(a + ab * t)
}
