/* Fuzz target: the json reporter (see report_target.h). */
#define FUZZ_FORMAT KL_FORMAT_JSON
#include "report_target.h"
