//! The `lb-xdp` command: run the director or the decap program on an interface, change a
//! running director's backends, show counters.
use anyhow::{bail, Result};
use aya::programs::XdpMode;
use clap::{Parser, Subcommand};
use lb_xdp::daemon::{run_until_signal, DirectorArgs, Mode, Pins};
use lb_xdp::decap::{Decap, DecapMaps};
use lb_xdp::director::{Director, DirectorMaps, VipId};
use lb_xdp::maps::pin_dir;
use lb_xdp::sys::{self, Interface};
use std::net::IpAddr;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "lb-xdp", about = "XDP GUE load balancer: director, decap, control")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the director on IF until interrupted: VIP traffic is encapsulated in GUE
    /// toward its backends.
    Director(DirectorArgs),
    /// Run the decap program on IF until interrupted: GUE on PORT loses its outer headers.
    Decap {
        #[arg(long)]
        iface: String,
        /// Send decapsulated packets out of this interface instead of to the stack.
        #[arg(long)]
        redirect: Option<String>,
        /// Their Ether destination: the MAC of whoever receives them (default: the
        /// redirect interface's own, right for lo-like devices; for a veth, its peer's).
        #[arg(long, requires = "redirect")]
        redirect_mac: Option<lb_xdp::config::Mac>,
        #[arg(long, default_value_t = lb_xdp_common::DEFAULT_GUE_PORT)]
        port: u16,
        #[arg(long, value_enum, default_value_t = Mode::Auto)]
        mode: Mode,
    },
    /// Attach a program that passes everything, until interrupted (veth delivers XDP_TX'd
    /// and redirected frames only to a peer with an XDP program).
    Pass {
        #[arg(long)]
        iface: String,
        #[arg(long, value_enum, default_value_t = Mode::Auto)]
        mode: Mode,
    },
    /// Change the backends of a running director.
    Backend {
        #[command(subcommand)]
        action: BackendAction,
    },
    /// Counters of the director or decap program running on IF.
    Stats {
        #[arg(long)]
        iface: String,
    },
}

#[derive(Subcommand)]
enum BackendAction {
    /// Add a backend to a VIP (or change its weight).
    Add {
        #[arg(long)]
        iface: String,
        /// ADDR:PORT/tcp or ADDR:PORT/udp ([ADDR]:PORT for IPv6; port 0: any port).
        #[arg(long)]
        vip: VipId,
        #[arg(long)]
        backend: IpAddr,
        #[arg(long, default_value_t = 1)]
        weight: u32,
    },
    /// Remove a backend from a VIP.
    Remove {
        #[arg(long)]
        iface: String,
        #[arg(long)]
        vip: VipId,
        #[arg(long)]
        backend: IpAddr,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => craft::exit::error("lb-xdp", sys::describe(&err)),
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Director(args) => args.run(Director::load),
        Command::Decap { iface, redirect, redirect_mac, port, mode } => {
            decap(&iface, redirect.as_deref(), redirect_mac, port, mode.into())
        }
        Command::Pass { iface, mode } => {
            Interface::lookup(&iface)?;
            let mut d = Decap::load()?;
            d.attach_pass(&iface, mode.into())?;
            run_until_signal(&format!("pass on {iface}; Ctrl-C to stop"))
        }
        Command::Backend { action } => {
            match action {
                BackendAction::Add { iface, vip, backend, weight } => {
                    DirectorMaps::from_pins(&iface)?.add_backend(vip, backend, weight)?;
                    println!("{backend} (weight {weight}) serves {vip} on {iface}");
                }
                BackendAction::Remove { iface, vip, backend } => {
                    DirectorMaps::from_pins(&iface)?.remove_backend(vip, backend)?;
                    println!("{backend} no longer serves {vip} on {iface}");
                }
            }
            Ok(())
        }
        Command::Stats { iface } => stats(&iface),
    }
}


fn decap(iface: &str, redirect: Option<&str>, mac: Option<lb_xdp::config::Mac>, port: u16, mode: XdpMode) -> Result<()> {
    Interface::lookup(iface)?;
    let mut target = redirect.map(Interface::lookup).transpose()?;
    if let Some(lo) = target.as_ref().filter(|t| t.loopback) {
        bail!(
            "cannot redirect to {}: native XDP cannot transmit on a loopback device, and generic XDP's \
             packets arrive there marked for another host and are dropped (skb:kfree_skb reason \
             OTHERHOST); leave out --redirect to pass decapsulated packets to the stack, which \
             delivers them to a VIP on lo",
            lo.name
        );
    }
    if let (Some(target), Some(mac)) = (target.as_mut(), mac) {
        target.mac = mac.0;
    }
    let mut decap = Decap::load()?;
    decap.maps.configure(port, target.as_ref())?;
    let pins = Pins::create(iface, |dir| decap.maps.0.pin(dir))?;
    decap.attach(iface, mode)?;
    let to = redirect.map_or("the stack".to_string(), |r| r.to_string());
    run_until_signal(&format!("decap on {iface}: GUE on port {port} to {to}, maps in {}; Ctrl-C to stop", pins.0.display()))
}

fn stats(iface: &str) -> Result<()> {
    let dir = pin_dir(iface);
    if dir.join("DECAP_COUNTERS").exists() {
        println!("decap on {iface}");
        for (name, n) in DecapMaps::from_pins(iface)?.counters()? {
            println!("  {name:<14} {n}");
        }
        return Ok(());
    }
    let stats = DirectorMaps::from_pins(iface)?.stats()?;
    println!("director on {iface}");
    for (name, n) in &stats.counters {
        println!("  {name:<14} {n}");
    }
    println!("VIPs");
    for (vip, t) in &stats.vips {
        println!("  {:<28} {:>10} packets {:>12} bytes", vip.to_string(), t.packets, t.bytes);
    }
    println!("backends");
    for (addr, t) in &stats.backends {
        println!("  {:<28} {:>10} packets {:>12} bytes", addr.to_string(), t.packets, t.bytes);
    }
    Ok(())
}
