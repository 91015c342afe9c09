//! The reconciler: one pass in phases — `desired` (read the sources), `observe` (FlexyKey's
//! lists where needed), `resolve` (doubts, adoption, drift), `plan` (pure), `apply`
//! (journaled), `verify` — orchestrated by `pass`, observe to verify once per `round`.

mod absorb;
pub mod adopt;
pub mod apply;
pub mod attention;
pub mod deadline;
mod desired;
pub mod feeds;
pub mod marker;
mod names;
mod observe;
pub mod pass;
pub mod plan;
pub mod reads;
pub mod report;
pub mod resolve;
mod round;
pub mod status;
mod stores;
pub mod vanished;
mod verify;
pub mod waiting;
mod zones;

pub use plan::{
    Action, Category, HeldCreate, HeldDeletion, Operation, Plan, PlanInput, Policy, ReadKind,
    SourceState, plan,
};
pub use report::{DriftRound, PassFailure, PassFailureKind};
pub use waiting::PassWaiting;
