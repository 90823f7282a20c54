pub mod bpf;
pub mod child;
pub mod flood;
pub mod lab;
pub mod netns;
