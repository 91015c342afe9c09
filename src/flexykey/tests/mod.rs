//! The client's tests: wire JSON as the contract writes it, and calls over real HTTP against a
//! small fake FlexyKey on loopback (not the sandbox, which is built separately).

mod calls;
mod fake;
mod lists;
mod wire_json;
