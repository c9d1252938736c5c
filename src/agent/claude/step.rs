//! What the mappers of Claude's output return: the events a line means and the lines to
//! write back (answers to control requests). Its own module, so that the events and the
//! permissions that both make one do not need each other for it.

use crate::agent::AgentEvent;

/// What one line of output means: events for the engine and lines to write back.
#[derive(Debug, Default, PartialEq)]
pub struct Step {
    pub events: Vec<AgentEvent>,
    pub send: Vec<String>,
}

impl From<Vec<AgentEvent>> for Step {
    fn from(events: Vec<AgentEvent>) -> Self {
        Step {
            events,
            send: Vec::new(),
        }
    }
}
