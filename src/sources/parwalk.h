/*
 * The parallel tree walk of a history scan (see parwalk.c for why its
 * result does not depend on the number of threads).
 */
#ifndef KL_SRC_PARWALK_H
#define KL_SRC_PARWALK_H

#include "sources/history.h"

/* Record the blobs of every ordered commit not walked yet, on
 * h->o->threads threads; same result as walking them in order. */
void kl_parwalk_commits(kl_hist *h);

#endif
