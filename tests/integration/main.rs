//! Integration tests: the real binary against a wiremock Qovery (and, in `e2e`, the bundled
//! stateful mock). One test binary, as in `just`, to keep link times down.

mod busy;
mod cancel;
mod contract;
mod deploy;
mod e2e;
mod ends;
mod explain;
mod hostile;
mod http;
mod image;
mod inputs;
mod jobs;
mod oracle;
mod preview;
mod properties;
mod reliability;
mod secrets;
mod spec;
mod stages;
mod support;
mod tls;
mod verdict;
