/* Force-included into upper-half images built -fpie: with every declaration hidden, the
 * compiler addresses all symbols RIP-relative instead of through a GOT that a static,
 * non-PIE link at Xen's address cannot resolve (Xen builds the same way). */
#pragma GCC visibility push(hidden)
