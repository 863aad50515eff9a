# Build-time step: turns storage/migrations/NNNN_name.sql into a C++ table so
# that the binary carries its own schema (no files to install or lose).
#   cmake -DOUT=<file.cpp> -DSQL_FILES=<a;b;...> -P embed_migrations.cmake
list(SORT SQL_FILES)
set(body "")
set(expected 1)
foreach(file ${SQL_FILES})
  get_filename_component(name ${file} NAME)
  if(NOT name MATCHES "^([0-9][0-9][0-9][0-9])_[a-z0-9_]+\\.sql$")
    message(FATAL_ERROR "migration ${name}: name must be NNNN_lowercase_words.sql")
  endif()
  math(EXPR version "${CMAKE_MATCH_1}")
  if(NOT version EQUAL expected)
    message(FATAL_ERROR "migration ${name}: expected number ${expected} (no gaps, no duplicates)")
  endif()
  math(EXPR expected "${expected} + 1")
  file(READ ${file} sql)
  if(sql MATCHES "\\)zsql\"")
    message(FATAL_ERROR "migration ${name} contains the raw-string delimiter )zsql\"")
  endif()
  string(APPEND body "    {${version}, \"${name}\", R\"zsql(${sql})zsql\"},\n")
endforeach()
set(content "// Generated from storage/migrations/*.sql by embed_migrations.cmake; do not edit.
#include \"storage/migrations.h\"

namespace zaulek::storage {

std::span<const Migration> migrations() {
  static const Migration table[] = {
${body}  };
  return table;
}

}  // namespace zaulek::storage
")
# Rewrite only on change so that an unchanged schema does not rebuild.
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT "${old}" STREQUAL "${content}")
  file(WRITE ${OUT} "${content}")
endif()
