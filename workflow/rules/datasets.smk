# The image data sets (config section `datasets`): one rule per set writes its checked files
# under resources/<set>/ (DATASET_FILES, common.smk). Every analysis and Figures 4, S2, S3 read
# them from there.


rule mnist_data:
    output:
        DATASET_FILES["mnist"],
    params:
        data=config["datasets"]["mnist"],
    log:
        log_file("mnist_data"),
    benchmark:
        bench_file("mnist_data")
    conda:
        CONDA_ENV
    script:
        "../scripts/mnist_data.py"


rule fashion_mnist_data:
    output:
        DATASET_FILES["fashion_mnist"],
    params:
        data=config["datasets"]["fashion_mnist"],
    log:
        log_file("fashion_mnist_data"),
    benchmark:
        bench_file("fashion_mnist_data")
    conda:
        CONDA_ENV
    script:
        "../scripts/fashion_mnist_data.py"


rule cifar10_data:
    output:
        DATASET_FILES["cifar10"],
    params:
        local=config["datasets"]["cifar10"]["local"],
    log:
        log_file("cifar10_data"),
    benchmark:
        bench_file("cifar10_data")
    conda:
        CONDA_ENV
    script:
        "../scripts/cifar10_data.py"
