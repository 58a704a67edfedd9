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
int64_t dot_unique_f32(const int64_t* x, int64_t b, const float* U, const float* bu, int64_t nu, const float* M, const float* bm, int64_t nm, int64_t f, int squash, double lo, double hi, float* out, float* s, int64_t* uu, int64_t* iu, int64_t* um, int64_t* im, int64_t* k, int threads);
void step_rows_f32(const int64_t* x, const int64_t* iu, const int64_t* im, int64_t b, float* U, float* bu, float* M, float* bm, float* MU, float* Mbu, float* MM, float* Mbm, const int64_t* uu, int64_t ku, const int64_t* um, int64_t km, int64_t f, int squash, double lo, double hi, const float* s, const float* g, const float* y, double c, float* GU, float* gbu, float* GM, float* gbm, float** st, double* h, int threads);
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
    /* the one-call forward and step: the forward and distinct rows as above, then a step of copies of the tables */
    int64_t *uu2 = malloc((b<nu?b:nu)*8), *iu2 = malloc(b*8), *um2 = malloc((b<nm?b:nm)*8), *im2 = malloc(b*8), k2[2];
    float *out2 = malloc(b*4), *s2 = malloc(b*4);
    if (dot_unique_f32(x, b, U, bu, nu, M, bm, nm, f, 1, 0, 5.5, out2, s2, uu2, iu2, um2, im2, k2, th) != 1 || k2[0] != k[0] || k2[1] != k[1]
        || memcmp(out, out2, b*4) || memcmp(s, s2, b*4) || memcmp(iu, iu2, b*8) || memcmp(im, im2, b*8)) { puts("dot_unique differs"); return 1; }
    float *U2 = malloc(nu*f*4), *bu2 = calloc(nu, 4), *M2 = malloc(nm*f*4), *bm2 = calloc(nm, 4);
    memcpy(U2, U, nu*f*4); memcpy(M2, M, nm*f*4);
    float *MU = calloc(nu*2*f, 4), *Mbu = calloc(nu*2, 4), *MM = calloc(nm*2*f, 4), *Mbm = calloc(nm*2, 4);
    float *GU2 = malloc(k[0]*f*4), *gbu2 = malloc(k[0]*4), *GM2 = malloc(k[1]*f*4), *gbm2 = malloc(k[1]*4), steps[4] = {0, 0, 0, 0};
    float* st[4] = {steps, steps + 1, steps + 2, steps + 3};
    double h[28]; for (int i = 0; i < 4; ++i) { double hi[7] = {1e-3, 0.9, 0.99, 1e-5, 0.1, 0, 1}; memcpy(h + 7*i, hi, sizeof hi); }
    step_rows_f32(x, iu, im, b, U2, bu2, M2, bm2, MU, Mbu, MM, Mbm, uu, k[0], um, k[1], f, 1, 0, 5.5, s, g, NULL, 0, GU2, gbu2, GM2, gbm2, st, h, th);
    if (memcmp(GU, GU2, k[0]*f*4) || memcmp(GM, GM2, k[1]*f*4) || steps[0] != 1 || steps[3] != 1) { puts("step_rows differs"); return 1; }
    /* the same step given the predictions and their targets: the gradient (out - y)*c made inside, as given above */
    float *yv = malloc(b*4), *gy = malloc(b*4); const double cc = 2.0/b;
    for (int64_t i = 0; i < b; ++i) { yv[i] = 5*(rand()/(float)RAND_MAX); gy[i] = (out[i] - yv[i])*(float)cc; }
    dot_rows_back_f32(x, iu, im, b, U, M, k[0], k[1], f, 1, 0, 5.5, s, gy, GU, gbu, GM, gbm, th);
    memcpy(U2, U, nu*f*4); memcpy(M2, M, nm*f*4); memset(bu2, 0, nu*4); memset(bm2, 0, nm*4);
    memset(MU, 0, nu*2*f*4); memset(Mbu, 0, nu*2*4); memset(MM, 0, nm*2*f*4); memset(Mbm, 0, nm*2*4);
    step_rows_f32(x, iu, im, b, U2, bu2, M2, bm2, MU, Mbu, MM, Mbm, uu, k[0], um, k[1], f, 1, 0, 5.5, s, out, yv, cc, GU2, gbu2, GM2, gbm2, st, h, th);
    if (memcmp(GU, GU2, k[0]*f*4) || memcmp(GM, GM2, k[1]*f*4) || memcmp(gbu, gbu2, k[0]*4) || steps[0] != 2) { puts("step_rows with targets differs"); return 1; }
    free(yv); free(gy);
    free(uu2); free(iu2); free(um2); free(im2); free(out2); free(s2); free(U2); free(bu2); free(M2); free(bm2);
    free(MU); free(Mbu); free(MM); free(Mbm); free(GU2); free(gbu2); free(GM2); free(gbm2);
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
