//! The client's address behind trusted proxies: for a request from a
//! trusted peer, the rightmost `X-Forwarded-For` hop that is not itself a
//! trusted proxy; from any other peer the header is ignored, so that nobody
//! spoofs their way around the per-address sign-in limit.

use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The address a request is counted and logged under, set by the accept
/// loop for every request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Reads `ADDR` or `ADDR/PREFIX` entries.
    pub fn parse<'a>(entries: impl IntoIterator<Item = &'a str>) -> anyhow::Result<Self> {
        let mut nets = Vec::new();
        for entry in entries {
            let entry = entry.trim();
            let net = match entry.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => entry.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
                    anyhow::anyhow!("bad --trusted-proxy {entry:?} (ADDR or ADDR/PREFIX)")
                })?,
            };
            nets.push(net);
        }
        Ok(Self(nets))
    }

    fn trusts(&self, addr: IpAddr) -> bool {
        let addr = canonical(addr);
        self.0.iter().any(|net| net.contains(&addr))
    }

    /// The client's address for a request from `peer` with `headers`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        // Every X-Forwarded-For header, in order, is one list; walk it from
        // the right past the trusted hops. A hop that does not parse ends
        // the walk at the last address believed.
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(addr) = parse_hop(hop) else {
                return client;
            };
            client = canonical(addr);
            if !self.trusts(client) {
                return client;
            }
        }
        client
    }
}

/// An IPv4 address written as IPv6 (`::ffff:a.b.c.d`) is the IPv4 one.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

/// `a.b.c.d`, `a.b.c.d:port`, `::1`, `[::1]:port`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(addr) = hop.parse::<IpAddr>() {
        return Some(addr);
    }
    if let Ok(socket) = hop.parse::<std::net::SocketAddr>() {
        return Some(socket.ip());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(
                "x-forwarded-for",
                HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("")),
            );
        }
        h
    }

    #[test]
    fn the_rightmost_untrusted_hop_from_a_trusted_peer() {
        let trusted = TrustedProxies::parse(["127.0.0.1", "10.0.0.0/8"]).unwrap_or_default();
        let proxy: IpAddr = [127, 0, 0, 1].into();
        let stranger: IpAddr = [203, 0, 113, 9].into();
        // Behind the proxy: the address it saw.
        assert_eq!(
            trusted.client(proxy, &headers(&["198.51.100.7"])),
            IpAddr::from([198, 51, 100, 7])
        );
        // A client that sends its own X-Forwarded-For through the proxy
        // gets the proxy's view of it, not the one it wrote.
        assert_eq!(
            trusted.client(proxy, &headers(&["1.2.3.4, 198.51.100.7"])),
            IpAddr::from([198, 51, 100, 7])
        );
        // Two trusted hops are walked past.
        assert_eq!(
            trusted.client(proxy, &headers(&["198.51.100.7, 10.1.2.3"])),
            IpAddr::from([198, 51, 100, 7])
        );
        assert_eq!(
            trusted.client(proxy, &headers(&["198.51.100.7", "10.1.2.3"])),
            IpAddr::from([198, 51, 100, 7])
        );
        // From anyone else the header changes nothing.
        assert_eq!(trusted.client(stranger, &headers(&["127.0.0.1"])), stranger);
        // No header, or garbage: the peer, or the last hop believed.
        assert_eq!(trusted.client(proxy, &headers(&[])), proxy);
        assert_eq!(trusted.client(proxy, &headers(&["nonsense"])), proxy);
        assert_eq!(
            trusted.client(proxy, &headers(&["[2001:db8::1]:4711"])),
            "2001:db8::1".parse::<IpAddr>().unwrap_or(proxy)
        );
        // None trusted: the peer, always.
        assert_eq!(
            TrustedProxies::default().client(proxy, &headers(&["198.51.100.7"])),
            proxy
        );
        assert!(TrustedProxies::parse(["not-an-address"]).is_err());
    }
}
