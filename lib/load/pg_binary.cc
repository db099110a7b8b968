// PostgreSQL's binary formats, the only place the loader's bytes for the server are encoded:
// array parameters, COPY rows written and read, and the COPY session that carries them.
//
// The one rule that keeps a connection clean is in CopyIn: a COPY is either finished or
// aborted, on every path, so a failed put or end still leaves the server out of COPY mode.

#include "pg_binary.h"

#include "pg.h"

namespace offpeak {
namespace {

template <typename Unsigned>
void put_big_endian(std::string& out, Unsigned v) {
  char bytes[sizeof v];
  for (std::size_t i = 0; i < sizeof v; ++i)
    bytes[i] = static_cast<char>((v >> (8 * (sizeof v - 1 - i))) & 0xff);
  out.append(bytes, sizeof v);
}

}  // namespace

void put_int16(std::string& out, std::int16_t value) {
  put_big_endian(out, static_cast<std::uint16_t>(value));
}

void put_int32(std::string& out, std::int32_t value) {
  put_big_endian(out, static_cast<std::uint32_t>(value));
}

void put_int64(std::string& out, std::int64_t value) {
  put_big_endian(out, static_cast<std::uint64_t>(value));
}

PgArrayBuilder::PgArrayBuilder(unsigned int element_type) {
  // Header: dimensions, has-nulls flag, element type, then (length, lower bound) per dimension;
  // the length is patched in by finish().
  put_int32(data_, 1);
  put_int32(data_, 0);
  put_int32(data_, static_cast<std::int32_t>(element_type));
  put_int32(data_, 0);
  put_int32(data_, 1);
}

void PgArrayBuilder::add(std::string_view element) {
  put_int32(data_, static_cast<std::int32_t>(element.size()));
  data_.append(element);
  ++count_;
}

void PgArrayBuilder::add_null() {
  put_int32(data_, -1);
  std::string flag;
  put_int32(flag, 1);
  data_.replace(4, 4, flag);
  ++count_;
}

std::string_view PgArrayBuilder::finish() {
  std::string length;
  put_int32(length, count_);
  data_.replace(12, 4, length);
  return data_;
}

void PgArrayBuilder::clear() {
  data_.resize(20);
  std::string flag;
  put_int32(flag, 0);
  data_.replace(4, 4, flag);
  count_ = 0;
}

void CopyWriter::start() {
  data_.assign("PGCOPY\n\xff\r\n\0", 11);
  put_int32(data_, 0);  // flags
  put_int32(data_, 0);  // header extension length
}

Result<void> CopyIn::start(const std::string& sql) {
  if (auto started = conn_.copy_start(sql); !started) return started;
  active_ = true;
  writer_.start();
  return {};
}

Result<void> CopyIn::send() {
  auto sent = conn_.copy_put(writer_.data());
  writer_.clear();
  return sent;
}

Result<void> CopyIn::finish() {
  if (!active_) return {};
  writer_.end();
  if (auto sent = send(); !sent) {
    abort();
    return sent;
  }
  // copy_end reads the COPY's result whether it succeeded or not: the COPY is over.
  active_ = false;
  return conn_.copy_end();
}

void CopyIn::abort() {
  if (!active_) return;
  active_ = false;
  writer_.clear();
  conn_.copy_abort();
}

}  // namespace offpeak
