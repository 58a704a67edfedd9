/* Drives the sparse path's C row kernels (fastai_dotbias/sparse.py `_row_src`) over edge sizes on one and two threads,
   for tests/test_sanitizers.py to build under AddressSanitizer, UndefinedBehaviorSanitizer and ThreadSanitizer. */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
int64_t unique_rows(const int64_t* x, int64_t b, int64_t n, int64_t* uniq, int64_t* inv);
void unique_pair(const int64_t* x, int64_t b, int64_t nu, int64_t nm, int64_t* uu, int64_t* iu, int64_t* um, int64_t* im, int64_t* k, int threads);
int64_t dot_rows_f32(const int64_t* x, int64_t b, const float* U, const float* bu, int64_t nu, const float* M, const float* bm, int64_t nm, int64_t f, int squash, double lo, double hi, float* out, float* s, int threads);
void dot_rows_back_f32(const int64_t* x, const int64_t* iu, const int64_t* im, int64_t b, const float* U, const float* M, int64_t ku, int64_t km, int64_t f, int squash, double lo, double hi, const float* s, const float* g, float* GU, float* gbu, float* GM, float* gbm, int threads);
int64_t sum_rows_f32(const float* G, const int64_t* d, int64_t b, int64_t f, int64_t n, float* O);
int64_t adam_rows_f32(float* P, float* MV, const int64_t* r, const float* G, int64_t k, int64_t f, int64_t n, double lr, double mom, double sqr_mom, double eps, double wd, double step, int decouple_wd);
int main(void) {
  srand(1);
  int64_t sizes[][3] = {{1,1,1},{5,64,3},{3000,130,7},{2000,65,50},{1,2,1},{4096,1000,16}};
  for (int t = 0; t < 6; ++t) for (int th = 1; th <= 2; ++th) {
    int64_t b = sizes[t][0], nu = sizes[t][1], nm = sizes[t][1] + 3, f = sizes[t][2];
    int64_t* x = malloc(2*b*sizeof(int64_t));
    for (int64_t i = 0; i < b; ++i) { x[2*i] = rand() % nu; x[2*i+1] = rand() % nm; }
    x[0] = nu - 1; if (b > 1) x[3] = nm - 1;
    int64_t *uu = malloc((b<nu?b:nu)*8), *iu = malloc(b*8), *um = malloc((b<nm?b:nm)*8), *im = malloc(b*8), k[2];
    unique_pair(x, b, nu, nm, uu, iu, um, im, k, th);
    float *U = malloc(nu*f*4), *bu = malloc(nu*4), *M = malloc(nm*f*4), *bm = malloc(nm*4), *out = malloc(b*4), *s = malloc(b*4), *g = malloc(b*4);
    for (int64_t i = 0; i < nu*f; ++i) U[i] = rand()/(float)RAND_MAX; for (int64_t i = 0; i < nm*f; ++i) M[i] = rand()/(float)RAND_MAX;
    for (int64_t i = 0; i < nu; ++i) bu[i] = 0; for (int64_t i = 0; i < nm; ++i) bm[i] = 0; for (int64_t i = 0; i < b; ++i) g[i] = 1;
    if (dot_rows_f32(x, b, U, bu, nu, M, bm, nm, f, 1, 0, 5.5, out, s, th) != 1) { puts("dot_rows failed"); return 1; }
    float *GU = malloc(k[0]*f*4), *gbu = malloc(k[0]*4), *GM = malloc(k[1]*f*4), *gbm = malloc(k[1]*4);
    dot_rows_back_f32(x, iu, im, b, U, M, k[0], k[1], f, 1, 0, 5.5, s, g, GU, gbu, GM, gbm, th);
    float *Gb = malloc(b*f*4), *O = malloc(k[0]*f*4);
    for (int64_t i = 0; i < b*f; ++i) Gb[i] = 1;
    for (int64_t i = 0; i < k[0]*f; ++i) O[i] = 0;
    if (sum_rows_f32(Gb, iu, b, f, k[0], O) != 1) { puts("sum_rows failed"); return 1; }
    if (sum_rows_f32(Gb, iu, b, f, k[0] - 1, O) >= 0 && k[0] > 1) { puts("sum_rows took a position outside the table"); return 1; }
    free(Gb); free(O);
    float* MV = calloc(nu*2*f, 4);
    if (adam_rows_f32(U, MV, uu, GU, k[0], f, nu, 1e-3, 0.9, 0.99, 1e-5, 0.1, 1, 1) != 1) { puts("adam failed"); return 1; }
    int64_t* inv = malloc(b*8); int64_t* uq = malloc(b*8);
    int64_t* col = malloc(b*8); for (int64_t i = 0; i < b; ++i) col[i] = x[2*i];
    if (unique_rows(col, b, nu, uq, inv) != k[0]) { puts("unique mismatch"); return 1; }
    printf("b=%lld nu=%lld f=%lld threads=%d: %lld users, %lld items ok\n", (long long)b, (long long)nu, (long long)f, th, (long long)k[0], (long long)k[1]);
    free(x); free(uu); free(iu); free(um); free(im); free(U); free(bu); free(M); free(bm); free(out); free(s); free(g); free(GU); free(gbu); free(GM); free(gbm); free(MV); free(inv); free(uq); free(col);
  }
  return 0;
}
