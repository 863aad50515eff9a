#include "core/role.h"

namespace zaulek {

std::string_view to_string(Role role) {
  switch (role) {
    case Role::operator_:
      return "operator";
    case Role::administrator:
      return "administrator";
    case Role::investigator:
      return "investigator";
  }
  return "operator";
}

std::optional<Role> parse_role(std::string_view text) {
  if (text == "operator") return Role::operator_;
  if (text == "administrator") return Role::administrator;
  if (text == "investigator") return Role::investigator;
  return std::nullopt;
}

}  // namespace zaulek
