//! [`CnnEnergy`] as a burn module that is transparent over its [`CnnBackbone`]: visiting and
//! mapping go straight to the backbone's layers without a `backbone.` prefix, so a record of
//! the energy has the parameter paths it had before the backbone was factored out
//! (`convs.0.weight`, ..., `output.bias`) and older checkpoints still load.

use std::ops::{Deref, DerefMut};

use burn::module::{
    Content, Devices, Module, ModuleDisplay, ModuleDisplayDefault, ModuleMapper, ModuleVisitor,
};
use burn::tensor::Device;

use crate::neural::backbone::CnnBackbone;
use crate::neural::cnn::CnnEnergy;

impl Module for CnnEnergy {
    fn collect_devices(&self, devices: Devices) -> Devices {
        self.backbone.collect_devices(devices)
    }

    fn fork(self, device: &Device) -> Self {
        Self {
            backbone: self.backbone.fork(device),
        }
    }

    fn to_device(self, device: &Device) -> Self {
        Self {
            backbone: self.backbone.to_device(device),
        }
    }

    fn train(self) -> Self {
        Self {
            backbone: self.backbone.train(),
        }
    }

    fn valid(&self) -> Self {
        Self {
            backbone: self.backbone.valid(),
        }
    }

    fn materialize(self) -> Self {
        Self {
            backbone: self.backbone.materialize(),
        }
    }

    fn visit<Visitor: ModuleVisitor>(&self, visitor: &mut Visitor) {
        self.backbone.visit(visitor);
    }

    fn map<Mapper: ModuleMapper>(self, mapper: &mut Mapper) -> Self {
        Self {
            backbone: self.backbone.map(mapper),
        }
    }
}

impl Clone for CnnEnergy {
    fn clone(&self) -> Self {
        Self {
            backbone: self.backbone.clone(),
        }
    }
}

impl ModuleDisplayDefault for CnnEnergy {
    fn content(&self, content: Content) -> Option<Content> {
        self.backbone.content(content)
    }

    fn num_params(&self) -> usize {
        Module::num_params(self)
    }
}

impl ModuleDisplay for CnnEnergy {}

impl std::fmt::Display for CnnEnergy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.backbone, f)
    }
}

impl Deref for CnnEnergy {
    type Target = CnnBackbone;

    fn deref(&self) -> &CnnBackbone {
        &self.backbone
    }
}

impl DerefMut for CnnEnergy {
    fn deref_mut(&mut self) -> &mut CnnBackbone {
        &mut self.backbone
    }
}

#[cfg(test)]
mod tests {
    use burn::module::Module;
    use burn::tensor::Device;

    use crate::neural::{CnnBackbone, CnnBackboneConfig, CnnEnergyConfig};

    #[derive(Module, Debug)]
    struct Prefixed {
        backbone: CnnBackbone,
    }

    /// The energy's record holds the backbone's parameter paths unprefixed, so a record of the
    /// one-output backbone loads into the energy (and older energy checkpoints still load).
    #[test]
    fn record_paths_are_the_backbones() {
        let device = Device::flex();
        let config = CnnEnergyConfig::new().with_hidden(4).with_image_size(12);
        let energy = config.init(&device, 1).unwrap();
        let backbone = CnnBackboneConfig::new()
            .with_hidden(4)
            .with_image_size(12)
            .init(&device, 2)
            .unwrap();
        let want = backbone.hidden.weight.val().into_data();
        let loaded = energy.try_load_record(backbone.into_record()).unwrap();
        assert_eq!(loaded.hidden.weight.val().into_data(), want);
        // Negative control: the same backbone under a `backbone.` prefix (what a derived
        // wrapper records) does not load, so the test sees the paths.
        let prefixed = Prefixed {
            backbone: config.backbone().init(&device, 3).unwrap(),
        };
        let fresh = config.init(&device, 1).unwrap();
        assert!(fresh.try_load_record(prefixed.into_record()).is_err());
    }
}
