//! The reconciler: `plan` (pure) decides which FlexyKey writes bring the bookings in step with
//! the reservations; `apply` runs them journaled; `pass` is one full sync over all sources.

pub mod adopt;
pub mod apply;
pub mod codes;
pub mod deadline;
pub mod feeds;
pub mod marker;
pub mod pass;
pub mod plan;
mod reading;
pub mod reads;
pub mod status;
pub mod vanished;

pub use plan::{
    Action, Category, HeldDeletion, Operation, Plan, PlanInput, Policy, ReadKind, SourceState, plan,
};
