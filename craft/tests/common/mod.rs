pub mod bpf;
pub mod child;
pub mod explained;
pub mod flood;
pub mod lab;
pub mod lb_xdp;
pub mod netns;
pub mod tools;
