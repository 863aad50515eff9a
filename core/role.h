#pragma once

#include <optional>
#include <string_view>

namespace zaulek {

// The three kinds of user. A bit set so that an endpoint can allow several.
enum class Role : unsigned { operator_ = 1, administrator = 2, investigator = 4 };

std::string_view to_string(Role role);
std::optional<Role> parse_role(std::string_view text);

struct RoleSet {
  unsigned bits = 0;
  constexpr RoleSet() = default;
  constexpr RoleSet(std::initializer_list<Role> roles) {
    for (Role r : roles) bits |= static_cast<unsigned>(r);
  }
  constexpr bool contains(Role r) const { return (bits & static_cast<unsigned>(r)) != 0; }
  static constexpr RoleSet all() {
    return {Role::operator_, Role::administrator, Role::investigator};
  }
};

}  // namespace zaulek
