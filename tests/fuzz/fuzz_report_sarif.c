/* Fuzz target: the sarif reporter (see report_target.h). */
#define FUZZ_FORMAT KL_FORMAT_SARIF
#include "report_target.h"
