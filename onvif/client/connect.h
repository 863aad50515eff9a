// Opening a connection to a camera's HTTP endpoint (internal to
// onvif/client): the SOAP exchange and the snapshot fetch share it.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <string>

#include "onvif/client/client.h"

namespace zaulek::onvif::detail {

// "host:port", IPv6 in brackets: the Host header and the key of a kept-alive
// connection.
inline std::string host_port(const HttpUrl& u) {
  return (u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host) + ":" + u.port;
}

// Connects `stream` to url's host: an address directly (no resolver, and so
// no resolver thread), a name through `resolver`. Then done(ec, what), where
// `what` says which step failed ("cannot resolve", "cannot connect to").
// The caller keeps resolver and stream alive until done (it owns both and
// its `done` holds it); TCP_NODELAY is set on success (requests are small
// and answered at once).
template <class Done>
void async_open(boost::asio::ip::tcp::resolver& resolver, boost::beast::tcp_stream& stream,
                const HttpUrl& url, Done done) {
  using tcp = boost::asio::ip::tcp;
  auto connect = [&stream](const tcp::resolver::results_type& endpoints, Done done) {
    stream.async_connect(endpoints, [&stream, done = std::move(done)](
                                        boost::beast::error_code ec, const tcp::endpoint&) mutable {
      if (!ec) {
        boost::beast::error_code ignored;
        stream.socket().set_option(tcp::no_delay(true), ignored);
      }
      done(ec, ec ? "cannot connect to" : "");
    });
  };
  boost::beast::error_code ec;
  auto address = boost::asio::ip::make_address(url.host, ec);
  if (!ec) {
    auto port = static_cast<unsigned short>(std::stoi(url.port));
    return connect(
        tcp::resolver::results_type::create(tcp::endpoint(address, port), url.host, url.port),
        std::move(done));
  }
  resolver.async_resolve(url.host, url.port,
                         [connect, done = std::move(done)](boost::beast::error_code ec,
                                                           tcp::resolver::results_type r) mutable {
                           if (ec) return done(ec, "cannot resolve");
                           connect(r, std::move(done));
                         });
}

}  // namespace zaulek::onvif::detail
