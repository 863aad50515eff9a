// A camera's HTTP endpoint (internal to onvif/client): opening a connection
// and reading a bounded reply, shared by the SOAP exchange and the snapshot
// fetch.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
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

using ReplyParser = boost::beast::http::response_parser<boost::beast::http::string_body>;

// Reads one reply into a fresh `parser`, bounded: the header alone first (at
// most `header_limit` bytes), so that a declared Content-Length over
// `body_limit` is refused before string_body reserves it (Beast 1.74's eager
// http::async_read goes on past its own body_limit error when the first body
// bytes came in the same segment, and reserves the declared size: a 1 TiB
// claim was bad_alloc), then the body, chunked and unsized bodies counted
// against `body_limit` as they stream. Then done(ec, declared): `declared` is
// the Content-Length when that alone was over the limit (nothing more read).
// The caller keeps stream, buffer and parser alive until done.
template <class Done>
void async_read_bounded(boost::beast::tcp_stream& stream, boost::beast::flat_buffer& buffer,
                        std::optional<ReplyParser>& parser, std::size_t header_limit,
                        std::size_t body_limit, std::size_t read_chunk, Done done) {
  namespace http = boost::beast::http;
  parser.emplace();
  parser->header_limit(static_cast<std::uint32_t>(header_limit));
  parser->body_limit(body_limit);
  buffer.clear();
  // Beast reads into what the buffer has room for, at least 512 bytes: a
  // 3 KiB PullMessages reply took seven recvmsg calls and reactor turns.
  buffer.reserve(read_chunk);
  http::async_read_header(
      stream, buffer, *parser,
      [&stream, &buffer, &parser, body_limit, done = std::move(done)](boost::beast::error_code ec,
                                                                      std::size_t) mutable {
        // Beast refuses a Content-Length over body_limit itself; checked here
        // too, so that no Beast version's order matters.
        if ((!ec || ec == http::error::body_limit) && parser->is_header_done()) {
          if (auto declared = parser->content_length(); declared && *declared > body_limit)
            return done(boost::beast::error_code(http::error::body_limit),
                        std::optional<std::uint64_t>(*declared));
        }
        if (ec) return done(ec, std::optional<std::uint64_t>());
        http::async_read(
            stream, buffer, *parser,
            [done = std::move(done)](boost::beast::error_code ec, std::size_t) mutable {
              done(ec, std::optional<std::uint64_t>());
            });
      });
}

}  // namespace zaulek::onvif::detail
