//! Integration tests: the real binary against a wiremock Qovery (and, in `e2e`, the bundled
//! stateful mock). One test binary, as in `just`, to keep link times down.

mod deploy;
mod http;
mod inputs;
mod secrets;
mod support;
