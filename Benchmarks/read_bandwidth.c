// Read bandwidth of this machine: T threads XOR-reduce 1 GiB of (MADV_HUGEPAGE) memory, 8 times;
// prints each pass and the best in GB/s. Used for the roofline remarks in Benchmarks/README.md.
//   gcc -O2 -mavx512f -pthread Benchmarks/read_bandwidth.c -o /tmp/read_bandwidth && /tmp/read_bandwidth 2
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#define N (1UL<<30)
static char *buf; static int T;
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static void* run(void*a){long id=(long)a; size_t per=N/T; const __m512i*p=(const __m512i*)(buf+id*per); __m512i acc=_mm512_setzero_si512();
 for(size_t i=0;i<per/64;i+=4){acc=_mm512_xor_si512(acc,_mm512_xor_si512(_mm512_xor_si512(p[i],p[i+1]),_mm512_xor_si512(p[i+2],p[i+3])));}
 long long r[8]; _mm512_storeu_si512(r,acc); return (void*)(r[0]^r[7]);}
int main(int c,char**v){T=c>1?atoi(v[1]):2; buf=aligned_alloc(1<<21,N); madvise(buf,N,MADV_HUGEPAGE); memset(buf,1,N);
 double best=0; for(int rep=0;rep<8;rep++){pthread_t th[8]; double t0=now(); for(long i=0;i<T;i++)pthread_create(&th[i],0,run,(void*)i); for(int i=0;i<T;i++)pthread_join(th[i],0); double gb=N/1e9/(now()-t0); if(gb>best)best=gb; printf("%.1f ",gb);} printf("\nbest %.1f GB/s with %d threads\n",best,T);}
