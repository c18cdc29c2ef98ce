#include "CLFMKernels.h"
