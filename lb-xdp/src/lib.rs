//! lb-xdp: the XDP GUE load balancer and its decap program. Not built yet (its own issue).
