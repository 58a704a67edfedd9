/* Drives the Gibbs sampler's row draws kernel (fastai_dotbias/draws.py `_draws_src`) over edge sizes on one and two
   threads, for tests/test_sanitizers.py to build under AddressSanitizer, UndefinedBehaviorSanitizer and ThreadSanitizer. */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <math.h>
int64_t draw_rows(int64_t n, int64_t K, const int64_t* start, const int64_t* other, const double* t, const double* X, const double* lam,
                  const double* lm, const double* z, double alpha, double* x, double* sse, double* work, int threads);
static double unif(void) { return rand()/(double)RAND_MAX - 0.5; }
int main(void) {
  srand(1);
  /* rows, other rows, K, ratings: one rating; rows without any; K unrolled (31) and not; enough ratings for two threads */
  int64_t sizes[][4] = {{1,1,1,1},{5,3,31,2},{60,40,31,3000},{60,40,6,1200},{7,9,2,0},{300,2,3,5000}};
  for (int c = 0; c < 6; ++c) for (int th = 1; th <= 2; ++th) {
    int64_t n = sizes[c][0], no = sizes[c][1], K = sizes[c][2], nr = sizes[c][3];
    int64_t* start = calloc(n + 1, 8); int64_t* other = malloc((nr ? nr : 1)*8); double* t = malloc((nr ? nr : 1)*8);
    for (int64_t e = 0; e < nr; ++e) ++start[1 + (e*7) % (n > 1 ? n - 1 : 1)];   /* the last row of several has no rating */
    for (int64_t r = 0; r < n; ++r) start[r+1] += start[r];
    for (int64_t e = 0; e < nr; ++e) { other[e] = rand() % no; t[e] = 4*unif(); }
    if (nr) other[nr-1] = no - 1;
    double *X = malloc(no*K*8), *lam = calloc(K*K, 8), *lm = malloc(K*8), *z = malloc(n*K*8), *x = malloc(n*K*8), *sse = malloc(n*8), *work = malloc(2*(K*K + 4*K)*8);
    for (int64_t i = 0; i < no*K; ++i) X[i] = unif();
    for (int64_t i = 0; i < K; ++i) { lam[i*K+i] = 2; lm[i] = unif(); }
    for (int64_t i = 0; i < n*K; ++i) z[i] = unif();
    int64_t bad = draw_rows(n, K, start, other, t, X, lam, lm, z, 2.0, x, sse, work, th);
    for (int64_t i = 0; i < n*K; ++i) if (!isfinite(x[i])) bad = 1000000;
    if (bad != -1) { printf("case %d threads %d: draw_rows failed (%lld)\n", c, th, (long long)bad); return 1; }
    if (nr) { X[K*other[0]] = NAN; if (draw_rows(n, K, start, other, t, X, lam, lm, z, 2.0, x, sse, work, th) < 0) { printf("case %d: a NaN not caught\n", c); return 1; } }
    printf("case %d threads %d ok\n", c, th);
    free(start); free(other); free(t); free(X); free(lam); free(lm); free(z); free(x); free(sse); free(work);
  }
  return 0;
}
