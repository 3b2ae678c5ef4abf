/* Fuzz target: the text reporter (see report_target.h). */
#define FUZZ_FORMAT KL_FORMAT_TEXT
#include "report_target.h"
