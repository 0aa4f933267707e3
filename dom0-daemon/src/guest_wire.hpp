// A guest request from its bytes. The guest server receives raw bytes
// (not messages gRPC parsed for it) so that a request that is not valid
// protobuf gets INVALID_ARGUMENT saying what is wrong and where, instead
// of gRPC's INTERNAL with no message, and so that protobuf never logs a
// guest's invalid UTF-8 itself. Every field is walked and checked (wire
// types, lengths, UTF-8 of strings, nesting) before the message is parsed.
#pragma once

#include <google/protobuf/message.h>

#include <string_view>

#include "hyperupcall/result.hpp"

namespace hu::daemon {

// Ok, or InvalidArgument naming the message, the field (number and name),
// the offset and what is wrong, e.g. "RegisterProgramRequest: field 1
// (hook): invalid UTF-8 at byte 31 of the field".
Status CheckWire(const google::protobuf::Descriptor& type, std::string_view bytes);

// CheckWire, then parse into `out`.
Status ParseGuestRequest(std::string_view bytes, google::protobuf::Message* out);

}  // namespace hu::daemon
