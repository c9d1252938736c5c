//! Sessions on Kubernetes: each in a pod of its own whose flotilla owns it, with the
//! workspace and the record on a volume of its own. The user's side makes and deletes the
//! objects through the API server and talks to the pod's daemon through exec.

pub mod api;
pub mod inside;
pub mod objects;
pub mod state;

pub use api::{Cluster, Entry};
pub use state::PodState;
