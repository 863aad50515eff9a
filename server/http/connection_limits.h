// Connection limits per client address: how many connections each address
// has open, and how many of those have not yet authenticated, so that one
// address cannot take every connection the server allows
// (server.max_connections_per_address, max_unauthenticated_per_address).
#pragma once

#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

namespace zaulek::server {

// A connection counts as unauthenticated until a request on it carries a
// valid session. A mutex: the listener admits on its strand, sessions release
// on theirs (held for one map lookup). An entry lives while its address has
// a connection open, so the table is bounded by the open connections.
class AddressTable {
 public:
  enum class Admit { ok, per_address, unauthenticated };
  Admit admit(const std::string& address, int max_open, int max_unauthenticated) {
    std::lock_guard lock(mu_);
    auto it = items_.find(address);
    if (it != items_.end()) {
      if (it->second.open >= max_open) return Admit::per_address;
      if (it->second.unauthenticated >= max_unauthenticated) return Admit::unauthenticated;
    } else {
      it = items_.emplace(address, Entry{}).first;
    }
    ++it->second.open;
    ++it->second.unauthenticated;
    return Admit::ok;
  }
  void authenticated(const std::string& address) {
    std::lock_guard lock(mu_);
    if (auto it = items_.find(address); it != items_.end()) --it->second.unauthenticated;
  }
  void release(const std::string& address, bool authenticated) {
    std::lock_guard lock(mu_);
    auto it = items_.find(address);
    if (it == items_.end()) return;
    if (!authenticated) --it->second.unauthenticated;
    if (--it->second.open <= 0) items_.erase(it);
  }

  // Open and unauthenticated connections of `address` (0, 0 when none).
  std::pair<int, int> count(const std::string& address) {
    std::lock_guard lock(mu_);
    auto it = items_.find(address);
    if (it == items_.end()) return {0, 0};
    return {it->second.open, it->second.unauthenticated};
  }

 private:
  struct Entry {
    int open = 0;
    int unauthenticated = 0;
  };
  std::mutex mu_;
  std::unordered_map<std::string, Entry> items_;
};

}  // namespace zaulek::server
