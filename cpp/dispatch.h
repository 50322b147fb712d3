// Which compiled instruction-set level runs: detected once, overridable with FASTBCE_ISA.
#pragma once
#include <string>
#include <vector>

#include "kernel_table.h"

namespace fastbce {

// The active table. The first call picks it (FASTBCE_ISA, else the best level this CPU and OS run) and
// throws std::invalid_argument for an unknown or unsupported FASTBCE_ISA.
const KernelTable& active_table();
// Every level of levels.def, whether or not this build has it, best first.
std::vector<std::string> known_isas();
// Levels compiled into this build that this machine runs, best first.
std::vector<std::string> available_isas();
// Switches the active level (tests); throws std::invalid_argument like FASTBCE_ISA.
void set_isa(const std::string& name);

}  // namespace fastbce
