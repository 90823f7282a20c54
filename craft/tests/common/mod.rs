pub mod child;
pub mod lab;
pub mod netns;
