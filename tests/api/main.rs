//! One integration-test binary (one link step), a module per area.

mod feed;
mod helpers;
mod operator;
mod sandbox;
mod webhook;
