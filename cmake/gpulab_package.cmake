# Install rules for the programs and the Debian package: `cpack -G DEB` in the build folder
# makes gpulab_<version>_amd64.deb. Depends comes from the binaries (dpkg-shlibdeps); the
# dataset is recommended, not required (the lab offers synthetic data without it).
include(GNUInstallDirs)

install(TARGETS gpulab-cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
if(TARGET gpulab)
  install(TARGETS gpulab RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  # The translations are embedded in the lab; the installed copy is read first, so a
  # corrected translation can be dropped in without a rebuild.
  if(GPULAB_LRELEASE)
    install(FILES ${PROJECT_BINARY_DIR}/ui/i18n/gpulab_zh_CN.qm
            DESTINATION ${CMAKE_INSTALL_DATADIR}/gpulab/translations)
  endif()
endif()

set(CPACK_PACKAGE_NAME gpulab)
set(CPACK_PACKAGE_VENDOR "gpulab")
set(CPACK_PACKAGE_CONTACT "gpulab maintainers <maintainers@users.noreply.r-seed-79309184.example>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "visual lab for teaching data-parallel deep learning")
set(CPACK_PACKAGE_DESCRIPTION
"A real asynchronous multi-device engine trains the LeNet of Dive into Deep
Learning (chapter Computational Performance) on Fashion-MNIST; the lab shows
every step: each device's copy of the parameters, each allreduce step, the
loss curves, and memory when the front end runs ahead (async) or waits
(sync). It runs on simulated CPU devices and on NVIDIA GPUs.
.
This package holds the lab (gpulab) and the headless trainer (gpulab-cli).")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "dataset-fashion-mnist")
if(GPULAB_WITH_QT)
  # CJK glyphs for the 简体中文 interface.
  set(CPACK_DEBIAN_PACKAGE_SUGGESTS "fonts-noto-cjk | fonts-droid-fallback")
endif()
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_GENERATOR DEB)
include(CPack)
