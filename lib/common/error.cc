// The ranking of exit codes that error.h documents.

#include "error.h"

namespace offpeak {
namespace {

// Higher is worse.
int rank(ExitCode code) {
  switch (code) {
    case kExitOk:
      return 0;
    case kExitNothing:
      return 1;
    case kExitTempFail:
      return 2;
    case kExitIoErr:
      return 3;
    case kExitDataErr:
      return 4;
    case kExitUnavailable:
      return 5;
    case kExitSoftware:
      return 6;
    case kExitUsage:
      return 7;
    case kExitConfig:
      return 8;
  }
  return 6;  // a code the tools never use counts as a bug
}

}  // namespace

ExitCode worse(ExitCode a, ExitCode b) { return rank(b) > rank(a) ? b : a; }

}  // namespace offpeak
